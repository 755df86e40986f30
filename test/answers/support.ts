/** Shared set-up of the answer tests: a fake API per test and fast settings. */
import { Effect, type Layer, Logger, Redacted } from "effect"
import { AnswerScorer, type ScorableQuestion } from "../../src/answers/AnswerScorer.ts"
import { type AnswersConfig, makeAnswersConfig } from "../../src/answers/AnswersConfig.ts"
import { OpenAiKeyPool } from "../../src/answers/OpenAiKeyPool.ts"
import { type FakeOpenAi, type FakeOpenAiOptions, startFakeOpenAi } from "./FakeOpenAiServer.ts"

/** Starts a fake API for the current scope. */
export const fakeOpenAi = (options: FakeOpenAiOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeOpenAi(options)),
    (fake) => Effect.promise(() => fake.close())
  )

/** Short timeouts and cooldowns so failure paths finish in milliseconds. */
export const fastConfig = (
  fake: FakeOpenAi,
  keys: ReadonlyArray<string>,
  overrides: Partial<AnswersConfig> = {}
): AnswersConfig =>
  makeAnswersConfig({
    apiKeys: keys.map((k) => Redacted.make(k)),
    baseUrl: fake.url,
    requestTimeoutMs: 1_500, // long enough that only scripted hangs and delays time out on a loaded machine
    perAnswerDeadlineMs: 10_000,
    cooldownMs: 20,
    backoffBaseMs: 10,
    backoffMaxMs: 200,
    maxRetries: 3,
    ...overrides
  })

export const question: ScorableQuestion = {
  id: "q-1",
  prompt: "How do you keep a cache consistent with the database?",
  expectedPoints: ["invalidate on write", "time-to-live"]
}

export const answer =
  "I invalidate the cached entry whenever the row is written. Every entry also has a short time-to-live, so stale data ages out."

/** Scores with a fresh OpenAI scorer and returns the score (or failure) with the pool's metrics. */
export const scoreWith = (config: AnswersConfig, answers: ReadonlyArray<string> = [answer], samples?: number) =>
  Effect.gen(function* () {
    const scorer = yield* AnswerScorer
    const pool = yield* OpenAiKeyPool
    const results = yield* Effect.forEach(
      answers,
      (answerText, i) => Effect.result(scorer.score({ answerId: `a-${i}`, question, answerText, samples })),
      { concurrency: "unbounded" }
    )
    return { results, metrics: yield* pool.metrics }
  }).pipe(Effect.provide(AnswerScorer.layerOpenAI(config)))

/** A logger layer that records messages, for checking what reaches the logs. */
export const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make((options) => {
    lines.push(String(options.message))
  })
  return { lines, layer: Logger.layer([logger]) as Layer.Layer<never> }
}
