import { describe, expect, it } from "@effect/vitest"
import { summarizeProfile } from "../../src/bench/ProfileSummary.ts"

describe("summarizeProfile", () => {
  it("ranks functions by self time and leaves idle time out of the busy share", () => {
    const frame = (functionName: string, url = "", lineNumber = 0) => ({ functionName, url, lineNumber })
    const profile = {
      nodes: [
        { id: 1, callFrame: frame("(idle)") },
        { id: 2, callFrame: frame("run", "file:///x/onnx/backend.js", 113) },
        { id: 3, callFrame: frame("crop", "file:///x/src/ImageOps.ts", 9) }
      ],
      samples: [1, 2, 3, 2, 1],
      timeDeltas: [500_000, 300_000, 100_000, 300_000, 500_000]
    }
    const s = summarizeProfile("CPU.1.cpuprofile", profile)
    expect(s.sampledSeconds).toBeCloseTo(1.7, 10)
    expect(s.busySeconds).toBeCloseTo(0.7, 10)
    expect(s.top.map((t) => t.name)).toEqual(["run onnx/backend.js:114", "crop src/ImageOps.ts:10"])
    expect(s.top[0]!.share).toBeCloseTo(6 / 7, 10)
  })
})
