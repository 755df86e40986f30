import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import { AnswerScorer } from "../../src/answers/AnswerScorer.ts"
import { answersConfigFromEnv, parseApiKeys } from "../../src/answers/AnswersConfig.ts"
import { Transcriber } from "../../src/answers/Transcriber.ts"
import { answer, fakeOpenAi, question } from "./support.ts"

const withEnv = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))

describe("answers configuration", () => {
  it("splits OPENAI_API_KEYS, ignoring blanks and duplicates", () => {
    expect(parseApiKeys(" sk-a , ,sk-b,sk-a,").map(Redacted.value)).toEqual(["sk-a", "sk-b"])
    expect(parseApiKeys("")).toEqual([])
  })

  it.effect("reads the environment with defaults and keeps keys redacted", () =>
    Effect.gen(function* () {
      const config = yield* answersConfigFromEnv
      expect(config.apiKeys).toHaveLength(2)
      expect(String(config.apiKeys[0])).not.toContain("sk-secret")
      expect(config).toMatchObject({ model: "gpt-4.1-mini", samples: 5, temperature: 0.2, baseUrl: "http://x/v1" })
    }).pipe(
      Effect.provide(
        withEnv({
          OPENAI_API_KEYS: "sk-secret-1,sk-secret-2",
          OPENAI_MODEL: "gpt-4.1-mini",
          ANSWER_SAMPLES: "5",
          OPENAI_BASE_URL: "http://x/v1"
        })
      )
    )
  )

  it.effect("rejects an out-of-range sample count with the variable's name", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(answersConfigFromEnv)
      expect(error.message).toContain("ANSWER_SAMPLES")
    }).pipe(Effect.provide(withEnv({ ANSWER_SAMPLES: "0" })))
  )

  it.effect("picks the offline scorer and no transcription without keys", () =>
    Effect.gen(function* () {
      expect((yield* AnswerScorer).kind).toBe("offline-heuristic")
      const error = yield* Effect.flip((yield* Transcriber).transcribe(new Uint8Array([1]), "audio/wav"))
      expect(error._tag).toBe("TranscriptionUnavailable")
    }).pipe(
      Effect.provide(AnswerScorer.layerFromConfig),
      Effect.provide(Transcriber.layerFromConfig),
      Effect.provide(withEnv({}))
    )
  )

  it.live("picks the OpenAI scorer with keys and talks to OPENAI_BASE_URL", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi()
      const score = yield* Effect.gen(function* () {
        const scorer = yield* AnswerScorer
        return yield* scorer.score({ answerId: "a", question, answerText: answer })
      }).pipe(
        Effect.provide(AnswerScorer.layerFromConfig),
        Effect.provide(withEnv({ OPENAI_API_KEYS: "sk-env-1234", OPENAI_BASE_URL: fake.url, ANSWER_SAMPLES: "2" }))
      )
      expect(score.scorer).toBe("openai")
      expect(score.samples).toBe(2)
      expect(fake.requests.map((r) => r.apiKey)).toEqual(["sk-env-1234", "sk-env-1234"])
    })
  )
})
