import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { AnswerScorer } from "../../src/answers/AnswerScorer.ts"
import { layerAnswers } from "../../src/answers/Answers.ts"
import { makeAnswersConfig } from "../../src/answers/AnswersConfig.ts"
import { OpenAiKeyPool } from "../../src/answers/OpenAiKeyPool.ts"
import { Transcriber } from "../../src/answers/Transcriber.ts"
import { answer, fakeOpenAi, fastConfig, question } from "./support.ts"

const audio = new Uint8Array(2048).map((_, i) => i % 251)

const transcribe = (bytes: Uint8Array, contentType: string) =>
  Effect.flatMap(Transcriber, (t) => t.transcribe(bytes, contentType))

describe("Transcriber", () => {
  it.live("transcribes webm and wav through the audio API with the configured model", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ transcript: "I would use a token bucket." })
      const layer = Transcriber.layerOpenAI(fastConfig(fake, ["sk-one-1111"], { transcriptionModel: "whisper-1" }))
      const webm = yield* transcribe(audio, "audio/webm;codecs=opus").pipe(Effect.provide(layer))
      const wav = yield* transcribe(audio, "audio/x-wav").pipe(Effect.provide(layer))
      expect(webm).toEqual({ text: "I would use a token bucket.", model: "whisper-1" })
      expect(wav.text).toBe("I would use a token bucket.")
      expect(
        fake.requests.map((r) => [r.path, r.body.model, r.body.fileName, r.body.fileType, r.body.fileBytes])
      ).toEqual([
        ["/v1/audio/transcriptions", "whisper-1", "answer.webm", "audio/webm", 2048],
        ["/v1/audio/transcriptions", "whisper-1", "answer.wav", "audio/x-wav", 2048]
      ])
    })
  )

  it.live("rejects unsupported, empty and oversized audio without calling the API", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi()
      const layer = Transcriber.layerOpenAI(fastConfig(fake, ["sk-one-1111"], { maxAudioBytes: 1024 }))
      const unsupported = yield* Effect.flip(transcribe(audio, "audio/mpeg").pipe(Effect.provide(layer)))
      expect(unsupported._tag).toBe("UnsupportedAudio")
      expect(unsupported.message).toContain("audio/webm, audio/wav, audio/x-wav, audio/wave")
      const empty = yield* Effect.flip(transcribe(new Uint8Array(0), "audio/wav").pipe(Effect.provide(layer)))
      expect(empty._tag).toBe("EmptyAudio")
      const large = yield* Effect.flip(transcribe(audio, "audio/wave").pipe(Effect.provide(layer)))
      expect(large._tag).toBe("AudioTooLarge")
      expect(large.message).toContain("limit of 1024 bytes")
      expect(fake.requests).toHaveLength(0)
    })
  )

  it.effect("without keys fails with TranscriptionUnavailable and says what to do", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        transcribe(audio, "audio/webm").pipe(Effect.provide(Transcriber.layerUnavailable))
      )
      expect(error._tag).toBe("TranscriptionUnavailable")
      expect(error.message).toContain("OPENAI_API_KEYS")
      const wrongType = yield* Effect.flip(
        transcribe(audio, "video/mp4").pipe(Effect.provide(Transcriber.layerUnavailable))
      )
      expect(wrongType._tag).toBe("UnsupportedAudio")
    })
  )

  it.live("shares the key pool with the scorer: a key revoked during transcription is skipped for scoring", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ revokedKeys: ["sk-revoked-0000"] })
      const layer = layerAnswers(fastConfig(fake, ["sk-revoked-0000", "sk-good-9999"]))
      const metrics = yield* Effect.gen(function* () {
        yield* transcribe(audio, "audio/webm")
        const scorer = yield* AnswerScorer
        yield* scorer.score({ answerId: "a", question, answerText: answer, samples: 2 })
        return yield* (yield* OpenAiKeyPool).metrics
      }).pipe(Effect.provide(layer))
      expect(fake.requests.filter((r) => r.apiKey === "sk-revoked-0000")).toHaveLength(1)
      expect(metrics.keys.map((k) => [k.key, k.state, k.successes])).toEqual([
        ["…0000", "disabled", 0],
        ["…9999", "active", 3]
      ])
    })
  )

  it.effect("layerAnswers without keys gives the offline scorer and an unavailable transcriber", () =>
    Effect.gen(function* () {
      const scorer = yield* AnswerScorer
      const transcriber = yield* Transcriber
      const pool = yield* OpenAiKeyPool
      expect(scorer.kind).toBe("offline-heuristic")
      expect(transcriber.available).toBe(false)
      expect((yield* pool.metrics).keys).toEqual([])
    }).pipe(Effect.provide(layerAnswers(makeAnswersConfig({ apiKeys: [] }))))
  )

  it.effect("layerAnswers with keys gives the OpenAI scorer", () =>
    Effect.gen(function* () {
      expect((yield* AnswerScorer).kind).toBe("openai")
      expect((yield* Transcriber).available).toBe(true)
    }).pipe(Effect.provide(layerAnswers(makeAnswersConfig({ apiKeys: [Redacted.make("sk-x-1234")] }))))
  )
})
