import { describe, expect, it } from "@effect/vitest"
import { strongestExpression } from "../../schemas/Emotions.ts"
import type { EmotionScores, FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import { defaultKeyframeSettings, KeyframePolicy } from "../../src/pipeline/KeyframePolicy.ts"
import { analysis, face } from "./support/analyses.ts"

const every = defaultKeyframeSettings.everyMs

/** Capture times (200 ms apart, 5 fps) of a session's periodic keyframes over `ms`, from its first frame at `start`. */
const periodic = (start: number, ms: number): Array<number> => {
  const policy = new KeyframePolicy(true)
  const kept: Array<number> = []
  for (let t = start; t < start + ms; t += 200) if (policy.plan(t)) kept.push(t)
  return kept
}

describe("KeyframePolicy", () => {
  it("keeps the first frame, the second between half the period and all of it, then one every period", () => {
    const start = 1_765_000_000_000
    const kept = periodic(start, 60_000)
    expect(kept[0]).toBe(start)
    expect(kept[1]! - start).toBeGreaterThanOrEqual(every / 2)
    expect(kept[1]! - start).toBeLessThanOrEqual(every)
    for (let i = 2; i < kept.length; i++) expect(kept[i]! - kept[i - 1]!).toBe(every)
    // The same capture times give the same keyframes.
    expect(periodic(start, 60_000)).toEqual(kept)
  })

  it("scatters the periodic keyframes of interviews started together, so their heat-maps do not come as one burst", () => {
    // 50 interviews whose first frames were captured within 200 ms.
    const seconds = Array.from({ length: 50 }, (_, i) => periodic(1_765_000_000_000 + i * 4, 30_000)[1]!).map((t) =>
      Math.floor((t - 1_765_000_000_000) / 1000)
    )
    const perSecond = seconds.reduce((m, s) => m.set(s, (m.get(s) ?? 0) + 1), new Map<number, number>())
    // Before, all 50 second keyframes fell on the same frame.
    expect(perSecond.size).toBeGreaterThanOrEqual(4)
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(20)
  })

  it("names, before analysis, the least expression that would keep a frame, and judges no frame below it", () => {
    // A session of random expressions (a seeded generator): every expression keyframe not planned anyway must have
    // reached the bar named for its frame before it was analysed, or its heat-map would not have been drawn with it.
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) >>> 0
      return seed / 2 ** 32
    }
    const policy = new KeyframePolicy(true)
    let kept = 0
    for (let t = 0; t < 600_000; t += 200) {
      if (t % 60_000 === 0) policy.newQuestion()
      const planned = policy.plan(t)
      const bar = planned ? undefined : policy.expressionBar(t)
      const strength = random() < 0.2 ? random() : 0
      const emotion: EmotionScores = { angry: 0, disgust: 0, fear: 0, happy: strength, sad: 0, surprise: 0, neutral: 1 }
      const reason = policy.judge(analysis(t / 200, t, [face(0.3, emotion)]) as FrameAnalysis, planned)
      // A planned frame's heat-map is asked for anyway.
      if (reason === "expression" && !planned) {
        kept++
        expect(bar).toBeDefined()
        expect(strongestExpression(emotion)).toBeGreaterThanOrEqual(bar!)
      }
    }
    expect(kept).toBeGreaterThan(10)
  })

  it("names no bar with affect signals off, too soon after an event keyframe, or at the cap", () => {
    const happy = (strength: number) => [face(0.3, { ...neutralScores, happy: strength })]
    const neutralScores: EmotionScores = { angry: 0, disgust: 0, fear: 0, happy: 0, sad: 0, surprise: 0, neutral: 1 }
    expect(new KeyframePolicy(false).expressionBar(0)).toBeUndefined()
    const policy = new KeyframePolicy(true, { ...defaultKeyframeSettings, maxPerInterview: 2 })
    expect(policy.expressionBar(0)).toBe(defaultKeyframeSettings.expressionThreshold)
    expect(policy.judge(analysis(1, 0, happy(0.8)), false)).toBe("expression")
    expect(policy.expressionBar(defaultKeyframeSettings.minGapMs - 1)).toBeUndefined()
    expect(policy.expressionBar(defaultKeyframeSettings.minGapMs)).toBeCloseTo(0.85, 9)
    expect(policy.judge(analysis(2, defaultKeyframeSettings.minGapMs, happy(0.9)), false)).toBe("expression")
    expect(policy.expressionBar(defaultKeyframeSettings.minGapMs * 3)).toBeUndefined()
  })

  it("stops at the cap per interview", () => {
    const policy = new KeyframePolicy(true, { ...defaultKeyframeSettings, maxPerInterview: 1 })
    expect(policy.plan(0)).toBe(true)
    expect(policy.judge({ seq: 1, capturedAt: 0, width: 640, height: 480, faces: [] } as never, true)).toBe("periodic")
    expect(policy.plan(every * 2)).toBe(false)
  })
})
