import { describe, expect, it } from "@effect/vitest"
import { blinkValue, defaultWeights, overallOf, weightsFor } from "../../src/reports/OverallScore.ts"

const affect = {
  emotion: { angry: 0, disgust: 0, fear: 0, happy: 0.2, sad: 0.1, surprise: 0.1, neutral: 0.6 },
  dominant: "neutral" as const,
  blinks: 30,
  blinksPerMinute: 15
}
const attention = { seconds: 120, frames: 1200, facePresence: 0.9, multipleFaces: 0 }
const base = {
  answers: { scored: [80, 60], unanswered: 0, failed: 0, pending: 0 },
  attention,
  affect,
  affectSignals: true,
  provisional: false,
  configuredWeights: {}
}

describe("overall score", () => {
  it("uses the documented defaults: affect shown but weightless", () => {
    const overall = overallOf(base)
    expect(overall.weightsSource).toBe("default")
    expect(overall.weights).toEqual(defaultWeights)
    expect(overall.score).toBe(0.8 * 70 + 0.2 * 90)
    expect(overall.components.map((c) => [c.signal, c.value, c.share])).toEqual([
      ["answers", 70, 0.8],
      ["attention", 90, 0.2],
      ["emotion", 80, 0],
      ["blinks", 100, 0]
    ])
  })

  it("replaces the defaults with a tenant's weights, renormalising over the available signals", () => {
    const overall = overallOf({ ...base, attention: null, configuredWeights: { answers: 3, attention: 5, emotion: 1 } })
    expect(overall.weightsSource).toBe("tenant")
    expect(overall.weights).toEqual({ answers: 3, attention: 5, emotion: 1, blinks: 0 })
    expect(overall.components.find((c) => c.signal === "answers")!.share).toBe(0.75)
    expect(overall.score).toBe(Math.round(((3 * 70 + 1 * 80) / 4) * 10) / 10)
  })

  it("ignores invalid weights and counts unanswered questions as 0", () => {
    expect(weightsFor({ answers: -1, attention: Number.NaN, bogus: 3 }).source).toBe("default")
    const overall = overallOf({ ...base, answers: { scored: [90], unanswered: 2, failed: 1, pending: 0 } })
    expect(overall.components[0]!.value).toBe(30)
    expect(overall.notes.join(" ")).toMatch(/2 unanswered .* 1 answer\(s\) could not be scored/)
  })

  it("has no score when nothing weighted is available", () => {
    const overall = overallOf({
      ...base,
      answers: { scored: [], unanswered: 0, failed: 0, pending: 1 },
      attention: null,
      configuredWeights: { answers: 1 }
    })
    expect(overall.score).toBeNull()
  })

  it("maps blink rates: typical band 100, none 0, far above the band 0", () => {
    expect([0, 4, 8, 15, 21, 31.5, 42, 80].map(blinkValue)).toEqual([0, 50, 100, 100, 100, 50, 0, 0])
  })
})
