/**
 * The rows of an erasure: the interview's rows go in one transaction with its tombstone (id, tenant, when, why: no
 * personal data) and the audit row, so an erasure is on record exactly once however many callers race for it.
 * Retention sweeps claim the interviews due with a lease (`retention_claims`), so two engines never erase the same
 * interview at once and one left half done is taken up again when its lease expires.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { AuditLog } from "./AuditLog.ts"
import { isId, toIso } from "./Rows.ts"

export type ErasureReason = "request" | "retention"

export interface Tombstone {
  readonly interviewId: string
  readonly tenantId: string
  readonly erasedAt: string
  readonly reason: ErasureReason
}

export interface ErasureCommit {
  readonly tenantId: string
  readonly interviewId: string
  readonly reason: ErasureReason
  readonly erasedAt: Date
  /** The audit row's actor (`key:<id>`, `system`) and detail. */
  readonly actor: string
  /** The address the request came from (none for retention sweeps). */
  readonly source?: string
  readonly detail?: Record<string, unknown>
}

/** An interview a sweep has claimed (until its lease expires). */
export interface RetentionClaim {
  readonly interviewId: string
  readonly tenantId: string
}

export interface ErasuresShape {
  /**
   * Deletes the interview's rows (cascade), leaves its tombstone and records the audit row, in one transaction.
   * False (and nothing written) when the interview was not there: erased already, or another tenant's.
   */
  readonly commit: (erasure: ErasureCommit) => Effect.Effect<boolean, SqlError>
  /**
   * Claims one interview whose tenant's retention has passed at `now` (counted from `finished_at`, or from
   * `created_at` while it has not finished) and that nobody holds a live claim on, until `now + leaseMs`.
   */
  readonly claimDue: (options: {
    readonly owner: string
    readonly now: Date
    readonly leaseMs: number
  }) => Effect.Effect<Option.Option<RetentionClaim>, SqlError>
  /** Gives a claim up (the sweep stopped before erasing it), so the next sweep takes it at once. */
  readonly release: (owner: string, interviewId: string) => Effect.Effect<void, SqlError>
  readonly tombstone: (interviewId: string) => Effect.Effect<Option.Option<Tombstone>, SqlError>
}

export class Erasures extends Context.Service<Erasures, ErasuresShape>()("candor/Erasures") {
  static readonly layer = Layer.effect(
    Erasures,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog
      return {
        commit: (e) =>
          isId(e.interviewId)
            ? Effect.gen(function* () {
                const deleted = yield* sql`
                  DELETE FROM interviews WHERE id = ${e.interviewId} AND tenant_id = ${e.tenantId} RETURNING id`
                if (deleted.length === 0) return false
                yield* sql`
                  INSERT INTO interview_tombstones (interview_id, tenant_id, erased_at, reason)
                  VALUES (${e.interviewId}, ${e.tenantId}, ${e.erasedAt.toISOString()}::timestamptz, ${e.reason})
                  ON CONFLICT (interview_id) DO NOTHING`
                yield* audit.record({
                  tenantId: e.tenantId,
                  actor: e.actor,
                  action: "interview.erase",
                  subject: e.interviewId,
                  detail: { reason: e.reason, ...e.detail },
                  ...(e.source === undefined ? {} : { source: e.source })
                })
                return true
              }).pipe(sql.withTransaction, Effect.withSpan("Erasures.commit"))
            : Effect.succeed(false),
        claimDue: ({ owner, now, leaseMs }) =>
          Effect.gen(function* () {
            const at = now.toISOString()
            const until = new Date(now.getTime() + leaseMs).toISOString()
            // Atomic: of two sweeps inserting the same claim, the second meets the first's live lease and gets nothing.
            const rows = yield* sql<{ interview_id: string; tenant_id: string }>`
              INSERT INTO retention_claims (interview_id, claimed_by, expires_at)
              SELECT i.id, ${owner}, ${until}::timestamptz
              FROM interviews i JOIN tenants t ON t.id = i.tenant_id
              WHERE coalesce(i.finished_at, i.created_at) <= ${at}::timestamptz - make_interval(days => t.retention_days)
                AND NOT EXISTS (
                  SELECT 1 FROM retention_claims c WHERE c.interview_id = i.id AND c.expires_at > ${at}::timestamptz)
              ORDER BY coalesce(i.finished_at, i.created_at), i.id
              LIMIT 1
              ON CONFLICT (interview_id) DO UPDATE SET claimed_by = excluded.claimed_by, expires_at = excluded.expires_at
                WHERE retention_claims.expires_at <= ${at}::timestamptz
              RETURNING interview_id,
                (SELECT tenant_id FROM interviews WHERE interviews.id = retention_claims.interview_id) AS tenant_id`
            const row = rows[0]
            return row === undefined
              ? Option.none()
              : Option.some({ interviewId: row.interview_id, tenantId: row.tenant_id })
          }).pipe(Effect.withSpan("Erasures.claimDue")),
        release: (owner, interviewId) =>
          sql`DELETE FROM retention_claims WHERE interview_id = ${interviewId} AND claimed_by = ${owner}`.pipe(
            Effect.asVoid,
            Effect.withSpan("Erasures.release")
          ),
        tombstone: (interviewId) =>
          sql<{ interview_id: string; tenant_id: string; erased_at: unknown; reason: ErasureReason }>`
            SELECT * FROM interview_tombstones WHERE interview_id = ${interviewId}`.pipe(
            Effect.map((rows) =>
              rows[0] === undefined
                ? Option.none()
                : Option.some({
                    interviewId: rows[0].interview_id,
                    tenantId: rows[0].tenant_id,
                    erasedAt: toIso(rows[0].erased_at),
                    reason: rows[0].reason
                  })
            )
          )
      }
    })
  )
}
