/**
 * The candidate side of the streaming protocol, as a browser speaks it: binary frames with a 14-byte big-endian
 * header, JSON text messages tagged by `_tag`. Kept independent of the engine's own decoder so the bench tests
 * the documented wire format, not a shared implementation of it.
 */

export const PROTOCOL_VERSION = 1
export const KIND_JPEG = 1
export const HEADER_BYTES = 14

/** Header plus JPEG in one buffer, ready for `ws.send`. */
export const encodeFrame = (seq: number, capturedAt: number, jpeg: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(HEADER_BYTES + jpeg.byteLength)
  out[0] = PROTOCOL_VERSION
  out[1] = KIND_JPEG
  out.writeUInt32BE(seq >>> 0, 2)
  out.writeDoubleBE(capturedAt, 6)
  out.set(jpeg, HEADER_BYTES)
  return out
}

export type ClientMessage =
  | { readonly _tag: "start" }
  | { readonly _tag: "answer"; readonly questionId: string; readonly text: string }
  | { readonly _tag: "next"; readonly fromQuestionId?: string }
  | { readonly _tag: "finish" }
  | { readonly _tag: "ping"; readonly t: number }

/** The server messages the bench reacts to; anything else is counted and ignored. */
export interface QuestionMessage {
  readonly _tag: "question"
  readonly questionId: string
  readonly index: number
  readonly prompt: string
  /** Questions in the interview (absent from older engines). */
  readonly count?: number
}

export type ServerMessage =
  | QuestionMessage
  /** First message on a socket: where the interview stands. */
  | {
      readonly _tag: "session"
      readonly status: string
      readonly question: QuestionMessage | null
      readonly questionCount: number
      readonly maxFps: number
    }
  | {
      readonly _tag: "analysis"
      readonly seq: number
      readonly capturedAt: number
      readonly faces: ReadonlyArray<unknown>
    }
  | { readonly _tag: "slowDown"; readonly maxFps: number }
  /** `seq` is set when the error answers a frame (shed, rate limited, bad image...). */
  | { readonly _tag: "error"; readonly code: string; readonly message: string; readonly seq?: number }
  | { readonly _tag: "answerSaved"; readonly questionId: string }
  | { readonly _tag: "finished"; readonly reportUrl: string }
  | { readonly _tag: "pong"; readonly t: number }
  | { readonly _tag: "other"; readonly tag: string }

/** Reads a server text message; malformed ones become an `error` so the run reports them instead of crashing. */
export const decodeServerMessage = (text: string): ServerMessage => {
  let value: any
  try {
    value = JSON.parse(text)
  } catch {
    return { _tag: "error", code: "BenchUnparsable", message: text.slice(0, 200) }
  }
  if (value === null || typeof value !== "object" || typeof value._tag !== "string") {
    return { _tag: "error", code: "BenchUntagged", message: text.slice(0, 200) }
  }
  switch (value._tag) {
    case "analysis":
      return typeof value.seq === "number" && typeof value.capturedAt === "number" && Array.isArray(value.faces)
        ? value
        : { _tag: "error", code: "BenchBadAnalysis", message: text.slice(0, 200) }
    case "question":
      return typeof value.questionId === "string"
        ? value
        : { _tag: "error", code: "BenchBadQuestion", message: text.slice(0, 200) }
    case "session":
      return typeof value.status === "string" ? value : { _tag: "other", tag: "session" }
    case "slowDown":
      return typeof value.maxFps === "number" ? value : { _tag: "other", tag: "slowDown" }
    case "error":
      return {
        _tag: "error",
        code: String(value.code ?? "unknown"),
        message: String(value.message ?? ""),
        ...(typeof value.seq === "number" ? { seq: value.seq } : {})
      }
    case "answerSaved":
    case "finished":
    case "pong":
      return value
    default:
      return { _tag: "other", tag: value._tag }
  }
}

export const encodeMessage = (message: ClientMessage): string => JSON.stringify(message)

/**
 * Records the candidate's consent to data processing and affect analysis on notice `noticeVersion`, as a browser
 * client does before it streams frames (the engine refuses frames without it). `baseUrl` may be ws(s) or http(s).
 */
export const recordConsents = async (
  baseUrl: string,
  interviewId: string,
  token: string,
  noticeVersion = "1"
): Promise<boolean> => {
  const http = baseUrl.replace(/^ws/, "http")
  for (const kind of ["data_processing", "affect_analysis"]) {
    const res = await fetch(`${http}/v1/interviews/${encodeURIComponent(interviewId)}/consents`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ kind, granted: true, noticeVersion }),
      signal: AbortSignal.timeout(30_000)
    }).catch(() => undefined)
    await res?.body?.cancel()
    if (res?.status !== 201) return false
  }
  return true
}
