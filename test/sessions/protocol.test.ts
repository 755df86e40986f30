import { describe, expect, it } from "@effect/vitest"
import { decodeControl, isControlProblem } from "../../src/pipeline/ControlMessages.ts"
import { decodeFrame, encodeFrame, isFrameProblem } from "../../src/pipeline/FrameProtocol.ts"

const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4])
const buffer = (bytes: Uint8Array) => bytes.slice().buffer as ArrayBuffer
const text = (s: string) => buffer(new TextEncoder().encode(s))

describe("frame protocol", () => {
  it("round-trips the header and copies the image out of the message", () => {
    const message = buffer(encodeFrame(4_000_000_000, 1_700_000_000_123.5, jpeg))
    const frame = decodeFrame(message)
    if (isFrameProblem(frame)) throw new Error(frame.message)
    expect(frame.seq).toBe(4_000_000_000)
    expect(frame.capturedAt).toBe(1_700_000_000_123.5)
    expect([...frame.image]).toEqual([...jpeg])
    new Uint8Array(message).fill(0)
    expect(frame.image[0]).toBe(0xff)
  })

  it("names what is wrong with a bad frame and keeps its seq when readable", () => {
    const problem = (bytes: Uint8Array) => {
      const decoded = decodeFrame(buffer(bytes))
      return isFrameProblem(decoded) ? [decoded.code, decoded.seq] : ["ok"]
    }
    const good = encodeFrame(9, 1, jpeg)
    expect(problem(good.slice(0, 10))).toEqual(["bad_frame", 9])
    expect(problem(good.slice(0, 3))).toEqual(["bad_frame", undefined])
    const v2 = good.slice()
    v2[0] = 2
    expect(problem(v2)).toEqual(["unsupported_version", 9])
    const kind = good.slice()
    kind[1] = 7
    expect(problem(kind)).toEqual(["unsupported_kind", 9])
    expect(problem(encodeFrame(9, Number.NaN, jpeg))).toEqual(["bad_frame", 9])
    expect(problem(encodeFrame(9, 1, new Uint8Array([1, 2, 3, 4, 5])))).toEqual(["bad_image", 9])
    expect(problem(encodeFrame(9, 1, new Uint8Array(0)))).toEqual(["bad_image", 9])
  })
})

describe("control messages", () => {
  it("decodes the documented messages", () => {
    expect(decodeControl(text('{"_tag":"start"}'))).toEqual({ _tag: "start" })
    expect(decodeControl(text('{"_tag":"answer","questionId":"q","text":"hi"}'))).toEqual({
      _tag: "answer",
      questionId: "q",
      text: "hi"
    })
    expect(decodeControl(text('{"_tag":"next","fromQuestionId":"q"}'))).toEqual({ _tag: "next", fromQuestionId: "q" })
    expect(decodeControl(text('{"_tag":"finish"}'))).toEqual({ _tag: "finish" })
    expect(decodeControl(text('{"_tag":"ping","t":5}'))).toEqual({ _tag: "ping", t: 5 })
  })

  it("explains what is wrong instead of throwing", () => {
    const cases = [
      "not json",
      "[1,2]",
      "null",
      '{"_tag":"dance"}',
      '{"_tag":"answer","questionId":"q"}',
      '{"_tag":"answer","questionId":"q","text":"   "}',
      `{"_tag":"answer","questionId":"q","text":"${"x".repeat(20_001)}"}`,
      '{"_tag":"ping","t":"soon"}'
    ]
    for (const c of cases) {
      const decoded = decodeControl(text(c))
      expect(isControlProblem(decoded), c.slice(0, 40)).toBe(true)
    }
    expect(isControlProblem(decodeControl(buffer(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))))).toBe(true)
    expect(isControlProblem(decodeControl(new ArrayBuffer(200_000)))).toBe(true)
  })
})
