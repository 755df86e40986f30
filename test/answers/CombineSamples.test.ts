import { describe, expect, it } from "@effect/vitest"
import type { AnswerScore, CriterionScore } from "../../schemas/AnswerScore.ts"
import { combineSamples } from "../../src/answers/CombineSamples.ts"

const criterion = (id: string, score: number, evidence: Array<string>, flagged?: string): CriterionScore => ({
  criterionId: id,
  name: id,
  weight: id === "design" ? 2 : 1,
  score,
  spread: { stddev: 0, min: score, max: score },
  sampleScores: [score],
  evidence,
  rationale: `${id} at ${score}`,
  ...(flagged === undefined ? {} : { flagged })
})

const sample = (design: number, clarity: number, flagged?: string): AnswerScore => ({
  answerId: "a",
  questionId: "q",
  scorer: "openai",
  label: "model graded (m)",
  model: "m",
  promptVersion: "v1",
  temperature: 0.2,
  samples: 1,
  samplesRequested: 1,
  rubricSource: "question",
  criteria: [criterion("design", design, ["token bucket"], flagged), criterion("clarity", clarity, ["first"])],
  overall: 0,
  summary: `summary ${design}`,
  confidence: 0.5
})

describe("combining stored samples", () => {
  it("reports the mean, spread and every sample's rating per criterion, and the weighted overall", () => {
    const combined = combineSamples([sample(3, 4), sample(4, 4), sample(5, 4)], 3)
    const design = combined.criteria[0]!
    expect(design.score).toBe(4)
    expect(design.sampleScores).toEqual([3, 4, 5])
    expect(design.spread).toEqual({ stddev: 0.816, min: 3, max: 5 })
    expect(design.flagged).toBe("samples disagree (ratings from 3 to 5)")
    expect(combined.criteria[1]!.flagged).toBeUndefined()
    // (4·2 + 4·1) / 3 = 4 → 75 on the 0–100 scale.
    expect(combined.overall).toBe(75)
    expect(combined).toMatchObject({ samples: 3, samplesRequested: 3, summary: "summary 3" })
  })

  it("counts samples whose quotes were invented, and lowers confidence for missing samples", () => {
    const full = combineSamples([sample(4, 4), sample(4, 4)], 2)
    const partial = combineSamples([sample(4, 4, "quoted evidence not found"), sample(4, 4)], 3)
    expect(partial.criteria[0]!.flagged).toBe(
      "quoted evidence not found in the answer in 1 of 2 samples (after one retry); those quotes were dropped"
    )
    expect(partial.samplesRequested).toBe(3)
    expect(partial.confidence).toBeLessThan(full.confidence)
  })

  it("keeps an offline score as it is", () => {
    const offline: AnswerScore = { ...sample(2, 3), scorer: "offline-heuristic", confidence: 0.25, overall: 40 }
    expect(combineSamples([offline], 1)).toBe(offline)
  })
})
