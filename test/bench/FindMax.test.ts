import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import sharp from "sharp"
import type { Engine } from "../../src/bench/EngineUnderTest.ts"
import { type FindMaxResult, runFindMax } from "../../src/bench/LoadPhases.ts"
import { benchOptionsOf } from "../support/Cli.ts"
import { type FakeEngine, startFakeEngine } from "./FakeEngine.ts"

let clip: Array<Uint8Array>
const engines: Array<FakeEngine> = []

beforeAll(async () => {
  clip = await Promise.all(
    [10, 120].map((v) =>
      sharp({ create: { width: 32, height: 24, channels: 3, background: { r: v, g: v, b: v } } })
        .jpeg()
        .toBuffer()
    )
  )
})
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()))
})

/**
 * find-max from 2 to 4 candidates (budget 200 ms, far above a loaded machine's hiccups) against an engine that
 * answers in `slowMs` until `fastAfter` steps have been reported, then in 5 ms.
 */
const findMax = async (slowMs: number, fastAfter: number): Promise<{ result: FindMaxResult; log: Array<string> }> => {
  const log: Array<string> = []
  const delayFor = () => (log.length >= fastAfter ? 5 : slowMs)
  const fake = await startFakeEngine({ analysisDelayMs: 0, delayFor, shedEvery: 0, ignoreEvery: 0, maxFps: 15 })
  engines.push(fake)
  const flags = "--find-max --sessions 2 --step 2 --max-sessions 4 --fps 10 --duration 1 --warmup 0.5 --budget-ms 200"
  const options = await benchOptionsOf([...flags.split(" "), "--no-progress"])
  if (typeof options === "string") throw new Error(options)
  const engine: Engine = {
    url: fake.url,
    urls: [fake.url],
    apiKey: fake.apiKey,
    pid: undefined,
    env: {},
    stop: async () => {}
  }
  const result = await runFindMax({ engine, clips: [clip], options, log: (line) => log.push(line) })
  return { result, log }
}

describe("bench --find-max", () => {
  it("measures a step over budget again before it counts: a passing repeat goes on, a failing one stops", async () => {
    const [passes, fails] = await Promise.all([findMax(400, 1), findMax(400, 99)])

    // Over budget once, within it on the repeat: the ramp goes on to --max-sessions.
    expect(passes.result.steps.map((s) => [s.name, s.withinBudget])).toEqual([
      ["2 candidates", false],
      ["2 candidates (again)", true],
      ["4 candidates", true]
    ])
    expect(passes.result.maxSessions).toBe(4)
    expect(passes.result.stoppedBecause).toBe("reached --max-sessions 4")

    // Over budget twice: that step is the limit; one more step is measured for the chart.
    expect(fails.result.steps.map((s) => [s.name, s.withinBudget])).toEqual([
      ["2 candidates", false],
      ["2 candidates (again)", false],
      ["4 candidates", false]
    ])
    expect(fails.result.maxSessions).toBe(0)
    expect(fails.result.stoppedBecause).toMatch(/^p99 4\d\d ms > 200 ms at 2 candidates, twice$/)
  }, 90_000)
})
