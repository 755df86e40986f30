import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { AnswerScore } from "../../schemas/AnswerScore.ts"
import { AnswerScorer, type ScorableQuestion } from "../../src/answers/AnswerScorer.ts"

const question: ScorableQuestion = {
  id: "q-cache",
  prompt: "How would you design a cache for a read-heavy product catalogue service?",
  expectedPoints: [
    "cache invalidation when products change",
    "time-to-live expiry for stale entries",
    "cache stampede protection",
    "measure the hit rate"
  ]
}

const strong = `I would put a read-through cache in front of the product catalogue service, because reads dominate.
Each entry gets a time-to-live so stale entries expire even if an invalidation is missed.
When a product changes, the write path publishes an event and we delete the cached product, which is explicit invalidation.
To avoid a cache stampede on popular products, only one request recomputes a missing entry while others wait.
For example, in my last role we measured the hit rate per endpoint and kept it above 95 %.`

const weak = "I would use a cache. It makes it fast."

const score = (answerText: string, q: ScorableQuestion = question) =>
  Effect.gen(function* () {
    const scorer = yield* AnswerScorer
    return yield* scorer.score({ answerId: "a", question: q, answerText })
  }).pipe(Effect.provide(AnswerScorer.layerOffline))

describe("offline scorer", () => {
  it.effect("is deterministic and labelled as a heuristic", () =>
    Effect.gen(function* () {
      const first = yield* score(strong)
      const second = yield* score(strong)
      expect(second).toEqual(first)
      expect(first.scorer).toBe("offline-heuristic")
      expect(first.label).toBe("offline heuristic")
      expect(first.samples).toBe(1)
      expect(first.rubricSource).toBe("default")
      expect(first.criteria.map((c) => c.criterionId)).toEqual(["relevance", "coverage", "clarity"])
      expect(first.confidence).toBeLessThanOrEqual(0.5)
      expect(Schema.is(AnswerScore)(first)).toBe(true)
    })
  )

  it.effect("rates a substantive answer above a thin one, on every default criterion", () =>
    Effect.gen(function* () {
      const good = yield* score(strong)
      const poor = yield* score(weak)
      expect(good.overall).toBeGreaterThan(poor.overall + 20)
      for (const [i, c] of good.criteria.entries()) expect(c.score).toBeGreaterThan(poor.criteria[i]!.score)
      expect(good.criteria.find((c) => c.criterionId === "coverage")!.rationale).toContain("4 of 4")
      expect(poor.summary).toContain("not found")
    })
  )

  it.effect("quotes matching answer sentences verbatim as evidence", () =>
    Effect.gen(function* () {
      const result = yield* score(strong)
      const evidence = result.criteria.flatMap((c) => c.evidence)
      expect(evidence.length).toBeGreaterThan(0)
      for (const quote of evidence) expect(strong).toContain(quote)
      const coverage = result.criteria.find((c) => c.criterionId === "coverage")!
      expect(coverage.evidence.some((q) => q.includes("stampede"))).toBe(true)
    })
  )

  it.effect("scores a custom rubric by its own words and level anchors", () =>
    Effect.gen(function* () {
      const custom: ScorableQuestion = {
        id: "q-incident",
        prompt: "Tell me about an incident you handled.",
        rubric: {
          criteria: [
            {
              id: "ownership",
              name: "Ownership",
              description: "Takes responsibility, leads the response, follows up with a postmortem",
              weight: 2
            },
            {
              id: "communication",
              name: "Communication",
              weight: 1,
              levels: { "1": "No updates to anyone.", "5": "Regular status updates to stakeholders and customers." }
            }
          ]
        }
      }
      const owned = yield* score(
        "I took responsibility and led the response. I sent regular status updates to stakeholders and customers every hour. Afterwards I wrote the postmortem and followed up on every action item.",
        custom
      )
      const vague = yield* score("Something broke once and it got fixed eventually.", custom)
      expect(owned.rubricSource).toBe("question")
      expect(owned.criteria.map((c) => c.criterionId)).toEqual(["ownership", "communication"])
      expect(owned.criteria[0]!.weight).toBe(2)
      expect(owned.criteria[1]!.rationale).toContain("Closest level description: 5")
      expect(owned.overall).toBeGreaterThan(vague.overall)
    })
  )
})
