/**
 * Who did what to which interview, when. Holds ids and small facts only, so it can outlive an erasure.
 */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { fromJson, newId, toIso } from "./Rows.ts"

export interface AuditEntry {
  readonly tenantId: string
  /** `key:<id>`, `user:<id>`, `candidate:<interview id>`, `operator` (the command line) or `system`. */
  readonly actor: string
  readonly action: string
  readonly subject: string
  readonly detail?: Record<string, unknown>
}

export interface AuditRecord extends AuditEntry {
  readonly id: string
  readonly at: string
}

export interface AuditLogShape {
  readonly record: (entry: AuditEntry) => Effect.Effect<void, SqlError>
  readonly list: (tenantId: string, subject?: string) => Effect.Effect<ReadonlyArray<AuditRecord>, SqlError>
}

export class AuditLog extends Context.Service<AuditLog, AuditLogShape>()("candor/AuditLog") {
  static readonly layer = Layer.effect(
    AuditLog,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return {
        record: (e) =>
          sql`INSERT INTO audit_log (id, tenant_id, actor, action, subject, detail)
              VALUES (${newId()}, ${e.tenantId}, ${e.actor}, ${e.action}, ${e.subject}, ${JSON.stringify(e.detail ?? {})}::jsonb)`.pipe(
            Effect.asVoid,
            Effect.withSpan("AuditLog.record")
          ),
        list: (tenantId, subject) =>
          (subject === undefined
            ? sql`SELECT * FROM audit_log WHERE tenant_id = ${tenantId} ORDER BY at DESC LIMIT 1000`
            : sql`SELECT * FROM audit_log WHERE tenant_id = ${tenantId} AND subject = ${subject} ORDER BY at DESC LIMIT 1000`
          ).pipe(
            Effect.map((rows) =>
              rows.map((r: any) => ({
                id: r.id,
                tenantId: r.tenant_id,
                actor: r.actor,
                action: r.action,
                subject: r.subject,
                detail: fromJson<Record<string, unknown>>(r.detail),
                at: toIso(r.at)
              }))
            )
          )
      }
    })
  )
}
