/**
 * Consent decisions as a record: every decision is kept (the latest per kind is in force) and audited in the same
 * transaction. Uses the SQL client and `AuditLog` of the context.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { Consent as ConsentSchema, RecordConsentRequest } from "../../schemas/Consent.ts"
import { AuditLog } from "./AuditLog.ts"
import { newId, toIso } from "./Rows.ts"

type Consent = typeof ConsentSchema.Type

/** One decision as a session holds it: `at` is when it was recorded (ms), so the latest per kind wins. */
export interface ConsentDecision {
  readonly kind: Consent["kind"]
  readonly granted: boolean
  readonly noticeVersion: string
  readonly at: number
}

/** What decides consent for a session: the tenant's current notice version and the latest decision per kind. */
export interface ConsentStanding {
  readonly noticeVersion: string
  readonly decisions: ReadonlyArray<ConsentDecision>
}

/** A stored decision as a session holds it. */
export const toDecision = (c: Consent): ConsentDecision => ({
  kind: c.kind,
  granted: c.granted,
  noticeVersion: c.noticeVersion,
  at: Date.parse(c.createdAt)
})

/** A `consents` row as the API shows it. */
const toConsent = (r: any): Consent => ({
  id: r.id,
  kind: r.kind,
  granted: r.granted,
  noticeVersion: r.notice_version,
  createdAt: toIso(r.created_at)
})

/** Stores a decision of the candidate of `interview` and audits it as theirs, in one transaction. */
export const recordConsent = (
  interview: { readonly id: string; readonly tenantId: string },
  input: typeof RecordConsentRequest.Type
): Effect.Effect<Consent, SqlError, SqlClient.SqlClient | AuditLog> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog
    const rows = yield* sql`
      INSERT INTO consents (id, interview_id, kind, granted, notice_version)
      VALUES (${newId()}, ${interview.id}, ${input.kind}, ${input.granted}, ${input.noticeVersion})
      RETURNING *`.pipe(
      Effect.tap(() =>
        audit.record({
          tenantId: interview.tenantId,
          actor: `candidate:${interview.id}`,
          action: input.granted ? "consent.grant" : "consent.refuse",
          subject: interview.id,
          detail: { kind: input.kind, noticeVersion: input.noticeVersion }
        })
      ),
      sql.withTransaction
    )
    return toConsent(rows[0])
  })

/** The interview's consent decisions, oldest first. */
export const listConsents = (
  interviewId: string
): Effect.Effect<ReadonlyArray<Consent>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT * FROM consents WHERE interview_id = ${interviewId} ORDER BY created_at, id`.pipe(
      Effect.map((rows) => rows.map(toConsent))
    )
  )

/** The version of the notice the tenant shows its candidates now; a consent counts only for this version. */
export const currentNoticeVersion = (
  tenantId: string
): Effect.Effect<string | undefined, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT notice_version FROM tenants WHERE id = ${tenantId}`.pipe(
      Effect.map((rows) => (rows[0] === undefined ? undefined : String((rows[0] as any).notice_version)))
    )
  )

/** The consent standing of an interview of `tenantId`, as a session starts with it. */
export const consentStanding = (
  tenantId: string,
  interviewId: string
): Effect.Effect<ConsentStanding, SqlError, SqlClient.SqlClient> =>
  Effect.all([currentNoticeVersion(tenantId), listConsents(interviewId)]).pipe(
    Effect.map(([noticeVersion, consents]) => ({
      noticeVersion: noticeVersion ?? "1",
      decisions: consents.map(toDecision)
    }))
  )
