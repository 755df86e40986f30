/**
 * Text messages of the candidate protocol: UTF-8 JSON validated by the `ClientMessage` Schema. Failures come back
 * as a short explanation for an `error` reply, never as an exception.
 */
import { Result, Schema } from "effect"
import { type ClientMessage, ClientMessage as ClientMessageSchema } from "../../schemas/Protocol.ts"

/** Longest accepted text message: an answer of the maximum length in 4-byte characters, plus the envelope. */
export const MAX_TEXT_BYTES = 96 * 1024

export interface ControlProblem {
  readonly problem: string
}

const utf8 = new TextDecoder("utf-8", { fatal: true })
const decode = Schema.decodeUnknownResult(ClientMessageSchema)

const describe = (error: Schema.SchemaError): string => {
  const text = error.message.replace(/\s+/g, " ").trim()
  return text.length > 300 ? `${text.slice(0, 297)}...` : text
}

export const decodeControl = (message: ArrayBuffer): ClientMessage | ControlProblem => {
  if (message.byteLength > MAX_TEXT_BYTES) return { problem: `text message over ${MAX_TEXT_BYTES} bytes` }
  let text: string
  try {
    text = utf8.decode(message)
  } catch {
    return { problem: "text message is not valid UTF-8" }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { problem: "text message is not JSON" }
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return { problem: 'expected a JSON object with a "_tag" (start, answer, next, finish, ping)' }
  const result = decode(json)
  return Result.isSuccess(result) ? result.success : { problem: describe(result.failure) }
}

export const isControlProblem = (decoded: ClientMessage | ControlProblem): decoded is ControlProblem =>
  "problem" in decoded
