/**
 * Candidates' voluntary self-identification (table `demographics`, one row per interview, erased with it by
 * cascade) and the sample the impact-ratio audit is computed from. Nothing else reads this table: reports and
 * scorers never see it.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { REPORT_VERSION } from "../../schemas/Report.ts"
import type { Demographics, DemographicsRequest } from "../../schemas/CandidateData.ts"
import { AuditLog } from "./AuditLog.ts"
import { fromJson, toIso } from "./Rows.ts"

type DemographicsRow = typeof Demographics.Type

const toDemographics = (r: any): DemographicsRow => ({
  sex: r.sex ?? null,
  raceEthnicity: r.race_ethnicity ?? null,
  declined: r.declined,
  createdAt: toIso(r.created_at)
})

/**
 * Stores (or replaces) the candidate's answers for `interview` and audits that they gave some, without the
 * values: the audit log outlives the interview, this row does not.
 */
export const saveDemographics = (
  interview: { readonly id: string; readonly tenantId: string },
  input: typeof DemographicsRequest.Type,
  source: string
): Effect.Effect<DemographicsRow, SqlError, SqlClient.SqlClient | AuditLog> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog
    const sex = input.sex ?? null
    const race = input.raceEthnicity ?? null
    const declined = (sex === null || sex === "declined") && (race === null || race === "declined")
    return yield* Effect.gen(function* () {
      const rows = yield* sql`
        INSERT INTO demographics (interview_id, tenant_id, sex, race_ethnicity, declined)
        VALUES (${interview.id}, ${interview.tenantId}, ${sex}, ${race}, ${declined})
        ON CONFLICT (interview_id) DO UPDATE
          SET sex = EXCLUDED.sex, race_ethnicity = EXCLUDED.race_ethnicity, declined = EXCLUDED.declined,
              created_at = now()
        RETURNING *`
      yield* audit.record({
        tenantId: interview.tenantId,
        actor: `candidate:${interview.id}`,
        action: "demographics.submit",
        subject: interview.id,
        source
      })
      return toDemographics(rows[0])
    }).pipe(sql.withTransaction)
  }).pipe(Effect.withSpan("Demographics.save"))

/** The interview's self-identification, if the candidate gave one. */
export const readDemographics = (
  interviewId: string
): Effect.Effect<DemographicsRow | null, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT * FROM demographics WHERE interview_id = ${interviewId}`.pipe(
      Effect.map((rows) => (rows[0] === undefined ? null : toDemographics(rows[0])))
    )
  )

/** One interview of an impact-ratio sample. */
export interface SampleRow {
  readonly interviewId: string
  readonly sex: string | null
  readonly raceEthnicity: string | null
  /** The latest human review decision, if any. */
  readonly decision: string | null
  /** Overall score of the cached (complete) report: undefined when there is no cached report of this format. */
  readonly cachedScore: number | null | undefined
}

/** The tenant's interviews created in [from, to), oldest first, with what an impact-ratio audit needs. */
export const impactSample = (
  tenantId: string,
  window: { readonly from?: string | undefined; readonly to?: string | undefined }
): Effect.Effect<ReadonlyArray<SampleRow>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      SELECT i.id, d.sex, d.race_ethnicity,
             (SELECT r.decision FROM reviews r WHERE r.interview_id = i.id
              ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS decision,
             rep.version AS report_version, rep.body -> 'overall' -> 'score' AS cached_score
      FROM interviews i
      LEFT JOIN demographics d ON d.interview_id = i.id
      LEFT JOIN reports rep ON rep.interview_id = i.id
      WHERE i.tenant_id = ${tenantId}
        ${window.from === undefined ? sql`` : sql`AND i.created_at >= ${window.from}::timestamptz`}
        ${window.to === undefined ? sql`` : sql`AND i.created_at < ${window.to}::timestamptz`}
      ORDER BY i.created_at, i.id`.pipe(
      Effect.map((rows) =>
        rows.map((r: any): SampleRow => {
          const cached = r.report_version === REPORT_VERSION ? fromJson<unknown>(r.cached_score) : undefined
          return {
            interviewId: r.id,
            sex: r.sex ?? null,
            raceEthnicity: r.race_ethnicity ?? null,
            decision: r.decision ?? null,
            cachedScore: cached === undefined ? undefined : typeof cached === "number" ? cached : null
          }
        })
      ),
      Effect.withSpan("Demographics.impactSample")
    )
  )
