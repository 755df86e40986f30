import { describe, expect, it } from "@effect/vitest"
import { percentile, Sample, summarize } from "../../src/bench/LatencySummary.ts"

describe("LatencySummary", () => {
  it("reports nearest-rank percentiles: every figure is a value that was observed", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i)
    const s = summarize(values)
    expect(s).toMatchObject({ count: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 })
  })

  it("handles tiny and empty samples", () => {
    expect(summarize([])).toMatchObject({ count: 0, p99: 0 })
    expect(summarize([7])).toMatchObject({ p50: 7, p99: 7, max: 7 })
    expect(percentile([1, 2, 3], 0)).toBe(1)
  })

  it("grows a sample beyond its first buffer without losing values", () => {
    const s = new Sample()
    for (let i = 0; i < 5000; i++) s.push(i)
    expect(s.length).toBe(5000)
    expect(s.values()[4999]).toBe(4999)
    s.clear()
    expect(s.values().length).toBe(0)
  })
})
