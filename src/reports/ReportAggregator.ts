/**
 * Builds interview reports from the stored rows and caches them. A report is cached (table `reports`, with the
 * report format version) once it is complete — the interview is over and every answer's scoring has ended —
 * because nothing it is built from changes after that except reviews, and adding a review drops the cached copy.
 * Until then every request rebuilds it, so a recruiter watching a running interview sees scores arrive.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { REPORT_VERSION, Report } from "../../schemas/Report.ts"
import type { InterviewRecord } from "../store/Interviews.ts"
import { fromJson } from "../store/Rows.ts"
import { buildReport } from "./ReportBuilder.ts"
import { loadReportInputs } from "./ReportInputs.ts"
import { readVisionInfo, type VisionInfo } from "./VisionModels.ts"

export interface ReportAggregatorShape {
  /** The interview's report: the cached one when complete and current, otherwise built now (and cached if complete). */
  readonly report: (interview: InterviewRecord) => Effect.Effect<Report, SqlError>
  /** Builds from the stored rows without reading or writing the cache. */
  readonly rebuild: (interview: InterviewRecord) => Effect.Effect<Report, SqlError>
  /** The cached report, if there is a current one. */
  readonly cached: (interviewId: string) => Effect.Effect<Option.Option<Report>, SqlError>
}

const decodeReport = Schema.decodeUnknownOption(Report)

export const make = (vision: VisionInfo | null) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const rebuild = (interview: InterviewRecord) =>
      loadReportInputs(sql, interview).pipe(
        Effect.map((inputs) => buildReport(inputs, vision)),
        Effect.withSpan("ReportAggregator.rebuild")
      )

    const cached = (interviewId: string) =>
      sql`SELECT version, body FROM reports WHERE interview_id = ${interviewId}`.pipe(
        Effect.map((rows) => {
          const row = rows[0] as { version: number; body: unknown } | undefined
          return row === undefined || row.version !== REPORT_VERSION ? Option.none() : decodeReport(fromJson(row.body))
        })
      )

    // Written only if no review arrived since the report was read: a review drops the cache, and a build that
    // started before it must not put back a copy without it.
    const store = (report: Report) =>
      sql`
        INSERT INTO reports (interview_id, version, body)
        SELECT ${report.interviewId}, ${REPORT_VERSION}, ${JSON.stringify(report)}::jsonb
        WHERE (SELECT count(*)::int FROM reviews WHERE interview_id = ${report.interviewId}) = ${report.reviews.length}
        ON CONFLICT (interview_id) DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body, created_at = now()`

    const report = (interview: InterviewRecord) =>
      Effect.gen(function* () {
        const hit = yield* cached(interview.id)
        if (Option.isSome(hit)) return hit.value
        const built = yield* rebuild(interview)
        if (built.complete) yield* store(built)
        return built
      }).pipe(Effect.withSpan("ReportAggregator.report", { attributes: { interviewId: interview.id } }))

    return { report, rebuild, cached } satisfies ReportAggregatorShape
  })

/** Interview reports; see the module notes. */
export class ReportAggregator extends Context.Service<ReportAggregator, ReportAggregatorShape>()(
  "candor/reports/ReportAggregator"
) {
  /** Model versions of the vision models are read once from `models/manifest.json`. */
  static readonly layer = Layer.effect(ReportAggregator, Effect.flatMap(readVisionInfo(), make))

  /** With explicit vision model info (tests). */
  static readonly layerWith = (vision: VisionInfo | null) => Layer.effect(ReportAggregator, make(vision))
}
