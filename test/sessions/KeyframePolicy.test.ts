import { describe, expect, it } from "@effect/vitest"
import { defaultKeyframeSettings, KeyframePolicy } from "../../src/pipeline/KeyframePolicy.ts"

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

  it("stops at the cap per interview", () => {
    const policy = new KeyframePolicy(true, { ...defaultKeyframeSettings, maxPerInterview: 1 })
    expect(policy.plan(0)).toBe(true)
    expect(policy.judge({ seq: 1, capturedAt: 0, width: 640, height: 480, faces: [] } as never, true)).toBe("periodic")
    expect(policy.plan(every * 2)).toBe(false)
  })
})
