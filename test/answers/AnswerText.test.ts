import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { AnswerScorer } from "../../src/answers/AnswerScorer.ts"
import { decodeAnswerText } from "../../src/answers/AnswerText.ts"

const question = { id: "q", prompt: "Why?" }

const scoreText = (answerText: string) =>
  Effect.gen(function* () {
    const scorer = yield* AnswerScorer
    return yield* scorer.score({ answerId: "a-1", question, answerText })
  }).pipe(Effect.provide(AnswerScorer.layerOffline))

describe("answer text validation", () => {
  it.effect("decodes UTF-8 and drops a byte-order mark", () =>
    Effect.gen(function* () {
      const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("Grüße 👋")])
      expect(yield* decodeAnswerText(bytes)).toBe("Grüße 👋")
    })
  )

  it.effect("rejects invalid UTF-8 instead of inventing replacement characters", () =>
    Effect.gen(function* () {
      for (const bytes of [
        new Uint8Array([0x68, 0x69, 0xff]),
        new Uint8Array([0xc3]),
        new Uint8Array([0xed, 0xa0, 0x80])
      ]) {
        const error = yield* Effect.flip(decodeAnswerText(bytes))
        expect(error._tag).toBe("InvalidAnswerEncoding")
        expect(error.message).toContain("not valid UTF-8")
      }
    })
  )

  it.effect("rejects empty and whitespace-only answers", () =>
    Effect.gen(function* () {
      for (const text of ["", "   \n\t  "]) {
        const error = yield* Effect.flip(scoreText(text))
        expect(error._tag).toBe("EmptyAnswer")
        expect(error.message).toBe("answer a-1 is empty")
      }
    })
  )

  it.effect("rejects answers over the limit, counting characters rather than UTF-16 units", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(scoreText("word ".repeat(4001)))
      expect(error._tag).toBe("AnswerTooLong")
      expect(error.message).toContain("the limit is 20000")
      const emoji = "👋".repeat(20_000)
      const ok = yield* scoreText(emoji)
      expect(ok.answerId).toBe("a-1")
    })
  )
})
