import { describe, expect, it } from "@effect/vitest"
import { decodeServerMessage, encodeFrame, HEADER_BYTES } from "../../src/bench/CandidateProtocol.ts"
import { decodeFrame, isFrameProblem } from "../../src/pipeline/FrameProtocol.ts"

const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9])

describe("CandidateProtocol", () => {
  it("lays out the documented big-endian header", () => {
    const frame = encodeFrame(0x01020304, 1_700_000_000_123.25, jpeg)
    expect(frame.length).toBe(HEADER_BYTES + jpeg.length)
    expect([...frame.subarray(0, 6)]).toEqual([1, 1, 1, 2, 3, 4])
    expect(frame.readDoubleBE(6)).toBe(1_700_000_000_123.25)
    expect([...frame.subarray(HEADER_BYTES)]).toEqual([...jpeg])
  })

  it("is read back exactly by the engine's own frame decoder", () => {
    const frame = encodeFrame(42, 1_700_000_000_000.5, jpeg)
    const decoded = decodeFrame(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength))
    if (isFrameProblem(decoded)) throw new Error(decoded.message)
    expect(decoded.seq).toBe(42)
    expect(decoded.capturedAt).toBe(1_700_000_000_000.5)
    expect([...decoded.image]).toEqual([...jpeg])
  })

  it("wraps sequence numbers past 2^32 instead of corrupting the header", () => {
    expect(encodeFrame(2 ** 32 + 5, 0, jpeg).readUInt32BE(2)).toBe(5)
  })

  it("reads the server messages the candidates react to", () => {
    expect(decodeServerMessage('{"_tag":"analysis","seq":3,"capturedAt":10,"faces":[]}')).toMatchObject({
      _tag: "analysis",
      seq: 3
    })
    expect(decodeServerMessage('{"_tag":"error","code":"frame_shed","message":"m","seq":9}')).toEqual({
      _tag: "error",
      code: "frame_shed",
      message: "m",
      seq: 9
    })
    expect(decodeServerMessage('{"_tag":"slowDown","maxFps":2}')).toEqual({ _tag: "slowDown", maxFps: 2 })
    expect(decodeServerMessage('{"_tag":"score","event":{}}')).toEqual({ _tag: "other", tag: "score" })
  })

  it("turns malformed messages into errors the run reports", () => {
    expect(decodeServerMessage("not json")).toMatchObject({ _tag: "error", code: "BenchUnparsable" })
    expect(decodeServerMessage("[1]")).toMatchObject({ _tag: "error", code: "BenchUntagged" })
    expect(decodeServerMessage('{"_tag":"analysis","seq":"x"}')).toMatchObject({ code: "BenchBadAnalysis" })
  })
})
