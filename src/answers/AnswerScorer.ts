/**
 * Scores interview answers against their question's rubric (or the default
 * rubric: relevance, coverage of expected points, clarity).
 *
 * Two engines share one result shape: an OpenAI chat model graded K times
 * with verified evidence, and a deterministic offline heuristic used when no
 * API key is configured. Neither persists anything; storing the score (and
 * keeping an answer whose scoring failed, to retry it) is the caller's job.
 */
import { type Config, Context, Effect, Layer } from "effect"
import type { AnswerScore, ScorerKind } from "../../schemas/AnswerScore.ts"
import type { QuestionInput } from "../../schemas/Rubric.ts"
import type { AnswerScoringError } from "./AnswerErrors.ts"
import { type AnswersConfig, answersConfigFromEnv, defaults } from "./AnswersConfig.ts"
import { validateAnswerText } from "./AnswerText.ts"
import { scoreOffline } from "./OfflineScorer.ts"
import { OpenAiKeyPool } from "./OpenAiKeyPool.ts"
import { makeOpenAiScorer } from "./OpenAiScorer.ts"

/** A question as stored for an interview: the submitted input plus its id. */
export type ScorableQuestion = QuestionInput & { readonly id: string }

export interface ScoreAnswerInput {
  readonly answerId: string
  readonly question: ScorableQuestion
  readonly answerText: string
  /** Gradings to aggregate (OpenAI only); defaults to the configured count. */
  readonly samples?: number | undefined
}

export interface AnswerScorerShape {
  /** Which engine this instance uses. */
  readonly kind: ScorerKind
  /**
   * Scores one answer. Fails with `EmptyAnswer` / `AnswerTooLong` for bad
   * input, and with `AllKeysUnavailable`, `DeadlineExceeded`,
   * `OpenAiRequestFailed` or `ModelOutputInvalid` when the model cannot
   * grade it — never with a made-up score.
   */
  readonly score: (input: ScoreAnswerInput) => Effect.Effect<AnswerScore, AnswerScoringError>
}

/** Deterministic heuristic scorer; needs nothing. */
export const makeOffline = (maxAnswerChars: number = defaults.maxAnswerChars): AnswerScorerShape => ({
  kind: "offline-heuristic",
  score: (input) =>
    validateAnswerText(input.answerId, input.answerText, maxAnswerChars).pipe(
      Effect.map((answerText) =>
        scoreOffline({ answerId: input.answerId, questionId: input.question.id, question: input.question, answerText })
      ),
      Effect.withSpan("AnswerScorer.score", { attributes: { scorer: "offline-heuristic" } })
    )
})

/** Model-graded scorer over the key pool in context. */
export const makeOpenAI = (config: AnswersConfig): Effect.Effect<AnswerScorerShape, never, OpenAiKeyPool> =>
  Effect.map(OpenAiKeyPool, (pool) => {
    const scoreAnswer = makeOpenAiScorer(pool, config)
    return {
      kind: "openai",
      score: (input) =>
        validateAnswerText(input.answerId, input.answerText, config.maxAnswerChars).pipe(
          Effect.flatMap((answerText) =>
            scoreAnswer({
              answerId: input.answerId,
              questionId: input.question.id,
              question: input.question,
              answerText,
              samples: input.samples
            })
          ),
          Effect.withSpan("AnswerScorer.score", { attributes: { scorer: "openai", model: config.model } })
        )
    }
  })

/** Scores interview answers; see the module notes. */
export class AnswerScorer extends Context.Service<AnswerScorer, AnswerScorerShape>()("candor/answers/AnswerScorer") {
  /** The offline heuristic scorer. */
  static readonly layerOffline: Layer.Layer<AnswerScorer> = Layer.succeed(AnswerScorer, makeOffline())

  /** The OpenAI scorer using the `OpenAiKeyPool` in context (share one pool with the `Transcriber`). */
  static readonly layerOpenAIWithPool = (config: AnswersConfig): Layer.Layer<AnswerScorer, never, OpenAiKeyPool> =>
    Layer.effect(AnswerScorer, makeOpenAI(config))

  /** The OpenAI scorer with its own key pool (also provided, for its metrics). */
  static readonly layerOpenAI = (config: AnswersConfig): Layer.Layer<AnswerScorer | OpenAiKeyPool> =>
    AnswerScorer.layerOpenAIWithPool(config).pipe(Layer.provideMerge(OpenAiKeyPool.layer(config)))

  /** OpenAI when `config` has keys, otherwise offline (with an empty pool, so metrics still resolve). */
  static readonly layerFor = (config: AnswersConfig): Layer.Layer<AnswerScorer | OpenAiKeyPool> =>
    config.apiKeys.length > 0
      ? AnswerScorer.layerOpenAI(config)
      : Layer.merge(Layer.succeed(AnswerScorer, makeOffline(config.maxAnswerChars)), OpenAiKeyPool.layer(config))

  /** Reads the environment (see `answersConfigFromEnv`) and picks the engine. */
  static readonly layerFromConfig: Layer.Layer<AnswerScorer | OpenAiKeyPool, Config.ConfigError> = Layer.unwrap(
    Effect.map(answersConfigFromEnv, AnswerScorer.layerFor)
  )
}
