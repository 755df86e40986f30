/**
 * The report cache (table `reports`): complete reports, stored with the report format version. A copy of an
 * older format is never returned, and adding a review drops the interview's copy (see Reviews.ts).
 */
import { Effect, Option, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { REPORT_VERSION, Report } from "../../schemas/Report.ts"
import { fromJson } from "./Rows.ts"

export interface ReportCache {
  /** The cached report of the interview, if there is one of the current format. */
  readonly read: (interviewId: string) => Effect.Effect<Option.Option<Report>, SqlError>
  /**
   * Stores `report`, only if no review arrived since it was built: a review drops the cache, and a build that
   * started before it must not put back a copy without it.
   */
  readonly write: (report: Report) => Effect.Effect<void, SqlError>
}

const decodeReport = Schema.decodeUnknownOption(Report)

/** The report cache over the SQL client of the context. */
export const makeReportCache = Effect.map(
  SqlClient.SqlClient,
  (sql): ReportCache => ({
    read: (interviewId) =>
      sql`SELECT version, body FROM reports WHERE interview_id = ${interviewId}`.pipe(
        Effect.map((rows) => {
          const row = rows[0] as { version: number; body: unknown } | undefined
          return row === undefined || row.version !== REPORT_VERSION ? Option.none() : decodeReport(fromJson(row.body))
        })
      ),
    write: (report) =>
      sql`
        INSERT INTO reports (interview_id, version, body)
        SELECT ${report.interviewId}, ${REPORT_VERSION}, ${JSON.stringify(report)}::jsonb
        WHERE (SELECT count(*)::int FROM reviews WHERE interview_id = ${report.interviewId}) = ${report.reviews.length}
        ON CONFLICT (interview_id) DO UPDATE
          SET version = EXCLUDED.version, body = EXCLUDED.body, created_at = now()`.pipe(Effect.asVoid)
  })
)
