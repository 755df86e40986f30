/**
 * Who did what to which interview, when, and from where. Holds ids and small facts only, so it can outlive an
 * erasure. Reads of candidate data (reports, media, the live view, exports) are recorded as well as changes.
 */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { decodeCursor, encodeCursor, fromJson, newId, toIso } from "./Rows.ts"

export interface AuditEntry {
  readonly tenantId: string
  /** `key:<id>`, `user:<id>`, `candidate:<interview id>`, `operator` (the command line) or `system`. */
  readonly actor: string
  readonly action: string
  readonly subject: string
  readonly detail?: Record<string, unknown>
  /** The client's address, for entries made on a request. */
  readonly source?: string
}

export interface AuditRecord extends Omit<AuditEntry, "source"> {
  readonly id: string
  readonly at: string
  readonly source: string | null
}

export interface AuditFilter {
  readonly subject?: string | undefined
  readonly actor?: string | undefined
  readonly action?: string | undefined
  /** Inclusive, ISO 8601. */
  readonly from?: string | undefined
  /** Exclusive, ISO 8601. */
  readonly to?: string | undefined
}

export interface AuditPage {
  readonly items: ReadonlyArray<AuditRecord>
  readonly nextCursor: string | null
}

export class InvalidAuditCursor extends Error {
  readonly _tag = "InvalidAuditCursor"
}

const toRecord = (r: any): AuditRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  actor: r.actor,
  action: r.action,
  subject: r.subject,
  detail: fromJson<Record<string, unknown>>(r.detail),
  source: r.source ?? null,
  at: toIso(r.at)
})

export interface AuditLogShape {
  readonly record: (entry: AuditEntry) => Effect.Effect<void, SqlError>
  readonly list: (tenantId: string, subject?: string) => Effect.Effect<ReadonlyArray<AuditRecord>, SqlError>
  /** The tenant's entries matching `filter`, newest first, one page of `limit` after `cursor`. */
  readonly query: (
    tenantId: string,
    filter: AuditFilter,
    page: { readonly limit: number; readonly cursor?: string | undefined }
  ) => Effect.Effect<AuditPage, SqlError | InvalidAuditCursor>
}

export class AuditLog extends Context.Service<AuditLog, AuditLogShape>()("candor/AuditLog") {
  static readonly layer = Layer.effect(
    AuditLog,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return {
        record: (e) =>
          sql`INSERT INTO audit_log (id, tenant_id, actor, action, subject, detail, source)
              VALUES (${newId()}, ${e.tenantId}, ${e.actor}, ${e.action}, ${e.subject},
                      ${JSON.stringify(e.detail ?? {})}::jsonb, ${e.source ?? null})`.pipe(
            Effect.asVoid,
            Effect.withSpan("AuditLog.record")
          ),
        list: (tenantId, subject) =>
          (subject === undefined
            ? sql`SELECT * FROM audit_log WHERE tenant_id = ${tenantId} ORDER BY at DESC, id DESC LIMIT 1000`
            : sql`SELECT * FROM audit_log WHERE tenant_id = ${tenantId} AND subject = ${subject}
                  ORDER BY at DESC, id DESC LIMIT 1000`
          ).pipe(Effect.map((rows) => rows.map(toRecord))),
        query: (tenantId, filter, page) =>
          Effect.gen(function* () {
            const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor)
            if (page.cursor !== undefined && after === undefined) {
              return yield* Effect.fail(new InvalidAuditCursor("cursor is not one this API returned"))
            }
            const rows = yield* sql`
              SELECT *, at::text AS at_text FROM audit_log
              WHERE tenant_id = ${tenantId}
                ${filter.subject === undefined ? sql`` : sql`AND subject = ${filter.subject}`}
                ${filter.actor === undefined ? sql`` : sql`AND actor = ${filter.actor}`}
                ${filter.action === undefined ? sql`` : sql`AND action = ${filter.action}`}
                ${filter.from === undefined ? sql`` : sql`AND at >= ${filter.from}::timestamptz`}
                ${filter.to === undefined ? sql`` : sql`AND at < ${filter.to}::timestamptz`}
                ${after === undefined ? sql`` : sql`AND (at, id) < (${after.at}::timestamptz, ${after.id})`}
              ORDER BY at DESC, id DESC
              LIMIT ${page.limit + 1}`
            const items = rows.slice(0, page.limit) as Array<any>
            const last = items[items.length - 1]
            return {
              items: items.map(toRecord),
              nextCursor: rows.length > page.limit && last ? encodeCursor(last.at_text, last.id) : null
            }
          }).pipe(Effect.withSpan("AuditLog.query"))
      }
    })
  )
}
