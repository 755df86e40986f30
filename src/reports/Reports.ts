/**
 * The answers-to-report feature as one layer: answer intake, durable scoring with background workers, report
 * building with its cache, human reviews, and the OpenAI key pool's metrics. Its routes are
 * `reportRoutes` in src/http/routes/ReportRoutes.ts.
 */
import { Config, Effect, Layer, Schema } from "effect"
import { AnswerIntake } from "../answers/AnswerIntake.ts"
import { layerAnswers } from "../answers/Answers.ts"
import { type AnswersConfig, answersConfigFromEnv } from "../answers/AnswersConfig.ts"
import { OpenAiKeyPool, sampleKeyPool } from "../answers/OpenAiKeyPool.ts"
import { ScoringQueue, type ScoringSettings, scoringSettingsFor } from "../answers/ScoringQueue.ts"
import { Metrics } from "../Metrics.ts"
import { Reviews } from "../store/Reviews.ts"
import { ReportAggregator } from "./ReportAggregator.ts"
import type { VisionInfo } from "./VisionModels.ts"

/** Exposes the key pool's counters on `/metrics` while OpenAI is configured. */
const poolMetrics = Layer.effectDiscard(
  Effect.gen(function* () {
    const pool = yield* OpenAiKeyPool
    if (pool.size === 0) return
    const metrics = yield* Metrics
    yield* Effect.acquireRelease(
      Effect.sync(() => sampleKeyPool(metrics, pool.snapshot)),
      (remove) => Effect.sync(remove)
    )
  })
)

export interface ReportsOptions {
  readonly scoring?: Partial<ScoringSettings>
  /** Background scoring workers (default true); without them call `ScoringQueue.runOnce` / `drain`. */
  readonly workers?: boolean
  /** Vision model versions for reports; default: read from `models/manifest.json`. */
  readonly vision?: VisionInfo | null
}

/** The feature for explicit settings. Requires the SQL client, `Metrics` and `AuditLog`. */
export const reportsLayerWith = (answers: AnswersConfig, options: ReportsOptions = {}) => {
  const settings = scoringSettingsFor(answers, options.scoring)
  const queue = options.workers === false ? ScoringQueue.layer(settings) : ScoringQueue.layerWithWorkers(settings)
  const aggregator = options.vision === undefined ? ReportAggregator.layer : ReportAggregator.layerWith(options.vision)
  return Layer.mergeAll(AnswerIntake.layer(answers), poolMetrics).pipe(
    Layer.provideMerge(Layer.mergeAll(queue, aggregator, Reviews.layer)),
    Layer.provideMerge(layerAnswers(answers))
  )
}

const positiveInt = (name: string) => Config.option(Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), name))

/**
 * The feature configured from the environment: the OpenAI settings of `answersConfigFromEnv` (offline scoring
 * without `OPENAI_API_KEYS`), plus SCORING_CONCURRENCY and SCORING_MAX_ATTEMPTS.
 */
export const reportsLayer = Layer.unwrap(
  Effect.gen(function* () {
    const answers = yield* answersConfigFromEnv
    const concurrency = yield* positiveInt("SCORING_CONCURRENCY")
    const maxAttempts = yield* positiveInt("SCORING_MAX_ATTEMPTS")
    return reportsLayerWith(answers, {
      scoring: {
        ...(concurrency._tag === "Some" ? { concurrency: concurrency.value } : {}),
        ...(maxAttempts._tag === "Some" ? { maxAttempts: maxAttempts.value } : {})
      }
    })
  })
)
