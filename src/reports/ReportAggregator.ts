/**
 * Builds interview reports from the stored rows and caches them. A report is cached (table `reports`, with the
 * report format version) once it is complete — the interview is over and every answer's scoring has ended —
 * because nothing it is built from changes after that except reviews, and adding a review drops the cached copy.
 * Until then every request rebuilds it, so a recruiter watching a running interview sees scores arrive.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import type { Report } from "../../schemas/Report.ts"
import type { InterviewRecord } from "../store/Interviews.ts"
import { makeReportCache } from "../store/ReportCache.ts"
import { makeReportInputsReader } from "../store/ReportInputs.ts"
import { buildReport } from "./ReportBuilder.ts"
import { readVisionInfo, type VisionInfo } from "./VisionModels.ts"

export interface ReportAggregatorShape {
  /** The interview's report: the cached one when complete and current, otherwise built now (and cached if complete). */
  readonly report: (interview: InterviewRecord) => Effect.Effect<Report, SqlError>
  /** Builds from the stored rows without reading or writing the cache. */
  readonly rebuild: (interview: InterviewRecord) => Effect.Effect<Report, SqlError>
  /** The cached report, if there is a current one. */
  readonly cached: (interviewId: string) => Effect.Effect<Option.Option<Report>, SqlError>
}

export const make = (vision: VisionInfo | null) =>
  Effect.gen(function* () {
    const loadInputs = yield* makeReportInputsReader
    const cache = yield* makeReportCache

    const rebuild = (interview: InterviewRecord) =>
      loadInputs(interview).pipe(
        Effect.map((inputs) => buildReport(inputs, vision)),
        Effect.withSpan("ReportAggregator.rebuild")
      )

    const cached = cache.read

    const report = (interview: InterviewRecord) =>
      Effect.gen(function* () {
        const hit = yield* cached(interview.id)
        if (Option.isSome(hit)) return hit.value
        const built = yield* rebuild(interview)
        // Written only if no review arrived since the report was read (see `ReportCache.write`).
        if (built.complete) yield* cache.write(built)
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
