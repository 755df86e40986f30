import { describe, expect, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import { AnswerScore } from "../../schemas/AnswerScore.ts"
import { AnswerScorer, type ScorableQuestion } from "../../src/answers/AnswerScorer.ts"
import { answerOf, defaultGrade, firstSentence, strictSchemaProblems } from "./FakeOpenAiServer.ts"
import { answer, fakeOpenAi, fastConfig, scoreWith } from "./support.ts"

const only = <A, E>(results: ReadonlyArray<Result.Result<A, E>>): A => {
  const [first] = results
  if (first === undefined || Result.isFailure(first)) throw new Error(`expected success, got ${JSON.stringify(first)}`)
  return first.success
}
const failureOf = <A, E>(results: ReadonlyArray<Result.Result<A, E>>): E => {
  const [first] = results
  if (first === undefined || Result.isSuccess(first)) throw new Error("expected a failure")
  return first.failure
}

describe("OpenAI scorer", () => {
  it.live("grades K samples with a strict schema and records model, prompt version and temperature", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi()
      const { results } = yield* scoreWith(fastConfig(fake, ["sk-one-1111"]))
      const score = only(results)
      expect(Schema.is(AnswerScore)(score)).toBe(true)
      expect(score).toMatchObject({
        scorer: "openai",
        model: "gpt-4o-mini",
        promptVersion: "v1",
        temperature: 0.2,
        samples: 3,
        samplesRequested: 3,
        rubricSource: "default",
        overall: 75
      })
      expect(score.criteria.map((c) => c.criterionId)).toEqual(["relevance", "coverage", "clarity"])
      for (const c of score.criteria) {
        expect(c.score).toBe(4)
        expect(c.spread).toEqual({ stddev: 0, min: 4, max: 4 })
        expect(c.evidence).toEqual([firstSentence(answer).replace(/\.$/u, "")])
        expect(c.flagged).toBeUndefined()
      }
      expect(fake.requests).toHaveLength(3)
      for (const request of fake.requests) {
        expect(request.path).toBe("/v1/chat/completions")
        expect(request.apiKey).toBe("sk-one-1111")
        expect(request.body.model).toBe("gpt-4o-mini")
        expect(request.body.temperature).toBe(0.2)
        expect(request.body.response_format.json_schema.strict).toBe(true)
        expect(strictSchemaProblems(request.body.response_format.json_schema.schema)).toEqual([])
        expect(answerOf(request.body)).toBe(answer)
      }
    })
  )

  it.live("reports the mean and spread of the samples and flags disagreement", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ grade: (ctx) => defaultGrade(ctx, [2, 4, 5][ctx.request.index % 3]) })
      const score = only((yield* scoreWith(fastConfig(fake, ["sk-one-1111"]))).results)
      for (const c of score.criteria) {
        expect([...c.sampleScores].sort()).toEqual([2, 4, 5])
        expect(c.score).toBeCloseTo(11 / 3, 2)
        expect(c.spread.min).toBe(2)
        expect(c.spread.max).toBe(5)
        expect(c.spread.stddev).toBeCloseTo(1.247, 3)
        expect(c.flagged).toContain("samples disagree")
      }
      expect(score.confidence).toBeLessThan(0.5)
    })
  )

  it.live("weights criteria of the question's own rubric in the overall score", () =>
    Effect.gen(function* () {
      const weighted: ScorableQuestion = {
        id: "q-w",
        prompt: "Explain your testing strategy.",
        rubric: {
          criteria: [
            { id: "depth", name: "Depth", weight: 3 },
            { id: "brevity", name: "Brevity", weight: 1 }
          ]
        }
      }
      const fake = yield* fakeOpenAi({
        grade: (ctx) => {
          const base = defaultGrade(ctx) as { criteria: Record<string, { score: number }> }
          base.criteria.depth!.score = 5
          base.criteria.brevity!.score = 1
          return base
        }
      })
      const score = yield* Effect.gen(function* () {
        const scorer = yield* AnswerScorer
        return yield* scorer.score({ answerId: "a", question: weighted, answerText: answer, samples: 1 })
      }).pipe(Effect.provide(AnswerScorer.layerOpenAI(fastConfig(fake, ["sk-one-1111"]))))
      expect(score.rubricSource).toBe("question")
      expect(
        Object.keys(fake.requests[0]!.body.response_format.json_schema.schema.properties.criteria.properties)
      ).toEqual(["depth", "brevity"])
      // (5·3 + 1·1) / 4 = 4 on the 1–5 scale → 75 on 0–100.
      expect(score.overall).toBe(75)
      expect(score.samples).toBe(1)
    })
  )

  it.live("asks again when the reply is not JSON or does not match the schema", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({
        script: [
          { kind: "grade", content: "Sure! Here is my grading: {" },
          {
            kind: "grade",
            content: { criteria: { relevance: { rationale: "r", evidence: [], score: 4 } }, summary: "s" }
          }
        ]
      })
      const score = only((yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)).results)
      expect(score.samples).toBe(1)
      expect(score.criteria).toHaveLength(3)
      expect(fake.requests).toHaveLength(3)
    })
  )

  it.live("fails with ModelOutputInvalid when every reply is unusable", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ respond: () => ({ kind: "grade", content: "not json" }) })
      const error = failureOf((yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)).results)
      expect(error._tag).toBe("ModelOutputInvalid")
      expect(error.message).toContain("not valid JSON")
      expect(fake.requests).toHaveLength(3)
    })
  )

  it.live("scores from the samples it got when only some samples fail", () =>
    Effect.gen(function* () {
      let served = 0
      const fake = yield* fakeOpenAi({
        respond: () => (served++ === 0 ? undefined : { kind: "grade", content: "broken" })
      })
      const score = only((yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 2)).results)
      expect(score.samples).toBe(1)
      expect(score.samplesRequested).toBe(2)
    })
  )

  it.live("retries once when quoted evidence is not in the answer, then accepts a verified grading", () =>
    Effect.gen(function* () {
      const invented = (ctx: Parameters<typeof defaultGrade>[0]) => {
        const g = defaultGrade(ctx) as { criteria: Record<string, { evidence: Array<string> }> }
        g.criteria.coverage!.evidence = ["we shard the cache by tenant"]
        return g
      }
      const fake = yield* fakeOpenAi({ grade: (ctx) => (ctx.request.index === 0 ? invented(ctx) : defaultGrade(ctx)) })
      const score = only((yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)).results)
      expect(fake.requests).toHaveLength(2)
      expect(score.criteria.every((c) => c.flagged === undefined)).toBe(true)
    })
  )

  it.live("flags the criterion and drops invented quotes when the retry invents evidence too", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({
        grade: (ctx) => {
          const g = defaultGrade(ctx) as { criteria: Record<string, { evidence: Array<string> }> }
          g.criteria.clarity!.evidence = ["I would never cache anything", firstSentence(ctx.answer)]
          return g
        }
      })
      const score = only((yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)).results)
      expect(fake.requests).toHaveLength(2)
      const clarity = score.criteria.find((c) => c.criterionId === "clarity")!
      expect(clarity.flagged).toContain("not found in the answer in 1 of 1 samples")
      expect(clarity.evidence.join(" ")).not.toContain("never cache")
      for (const quote of clarity.evidence) expect(answer).toContain(quote)
      expect(score.criteria.find((c) => c.criterionId === "relevance")!.flagged).toBeUndefined()
    })
  )

  it.live("does not retry a request the API rejects as invalid", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ respond: () => ({ kind: "status", status: 400, message: "bad model" }) })
      const error = failureOf((yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)).results)
      expect(error._tag).toBe("OpenAiRequestFailed")
      if (error._tag === "OpenAiRequestFailed") expect(error.status).toBe(400)
      expect(fake.requests).toHaveLength(1)
    })
  )
})
