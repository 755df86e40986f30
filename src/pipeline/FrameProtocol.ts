/**
 * Binary video frames of the candidate protocol: a 14-byte big-endian header, then the JPEG. Decoding copies the
 * image out of the socket's buffer (uWS reuses it after the callback) and checks only what is cheap; the
 * inference pool judges the image itself.
 */
import { FRAME_HEADER_BYTES, FRAME_KIND_JPEG, PROTOCOL_VERSION } from "../../schemas/Protocol.ts"

export interface IncomingFrame {
  readonly seq: number
  readonly capturedAt: number
  /** The JPEG, in memory owned by the frame. */
  readonly image: Uint8Array
}

export interface FrameProblem {
  readonly code: "bad_frame" | "unsupported_version" | "unsupported_kind" | "bad_image"
  readonly message: string
  /** The frame's seq when the header was readable. */
  readonly seq: number | undefined
}

const problem = (code: FrameProblem["code"], message: string, seq?: number): FrameProblem => ({ code, message, seq })

/** Reads the header without copying anything: what the rate limiter needs before deciding to copy. */
export const peekSeq = (message: ArrayBufferLike): number | undefined =>
  message.byteLength >= 6 ? new DataView(message).getUint32(2, false) : undefined

/** Validates the header and copies the image; a `FrameProblem` says why the message is not a usable frame. */
export const decodeFrame = (message: ArrayBufferLike): IncomingFrame | FrameProblem => {
  if (message.byteLength < FRAME_HEADER_BYTES)
    return problem("bad_frame", `frame shorter than its ${FRAME_HEADER_BYTES}-byte header`, peekSeq(message))
  const view = new DataView(message)
  const seq = view.getUint32(2, false)
  const version = view.getUint8(0)
  if (version !== PROTOCOL_VERSION)
    return problem("unsupported_version", `protocol version ${version}; this server speaks ${PROTOCOL_VERSION}`, seq)
  const kind = view.getUint8(1)
  if (kind !== FRAME_KIND_JPEG) return problem("unsupported_kind", `frame kind ${kind}; only 1 (JPEG) exists`, seq)
  const capturedAt = view.getFloat64(6, false)
  if (!Number.isFinite(capturedAt) || capturedAt < 0)
    return problem("bad_frame", "capture time must be a finite, non-negative number of ms", seq)
  if (message.byteLength < FRAME_HEADER_BYTES + 4) return problem("bad_image", "no image after the header", seq)
  // JPEG start-of-image marker: garbage is refused here instead of costing a worker round trip.
  if (view.getUint8(FRAME_HEADER_BYTES) !== 0xff || view.getUint8(FRAME_HEADER_BYTES + 1) !== 0xd8)
    return problem("bad_image", "image is not a JPEG", seq)
  return { seq, capturedAt, image: new Uint8Array(message.slice(FRAME_HEADER_BYTES)) }
}

export const isFrameProblem = (decoded: IncomingFrame | FrameProblem): decoded is FrameProblem => "code" in decoded

/** Builds a frame message (clients, tests and the load tester). */
export const encodeFrame = (seq: number, capturedAt: number, jpeg: Uint8Array): Uint8Array => {
  const out = new Uint8Array(FRAME_HEADER_BYTES + jpeg.byteLength)
  const view = new DataView(out.buffer)
  view.setUint8(0, PROTOCOL_VERSION)
  view.setUint8(1, FRAME_KIND_JPEG)
  view.setUint32(2, seq >>> 0, false)
  view.setFloat64(6, capturedAt, false)
  out.set(jpeg, FRAME_HEADER_BYTES)
  return out
}
