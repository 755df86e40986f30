/** Validation of answer text before it is scored. */
import { Effect } from "effect"
import { AnswerTooLong, EmptyAnswer, InvalidAnswerEncoding } from "./AnswerErrors.ts"

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** Decodes answer bytes as UTF-8 (a leading BOM is dropped); invalid sequences fail instead of becoming U+FFFD. */
export const decodeAnswerText = (bytes: Uint8Array): Effect.Effect<string, InvalidAnswerEncoding> =>
  Effect.try({
    try: () => utf8.decode(bytes),
    catch: () => new InvalidAnswerEncoding({ byteLength: bytes.byteLength })
  })

/** Counts Unicode code points, so an emoji is one character as a reader sees it, not two. */
const codePointLength = (text: string): number => {
  let n = 0
  for (const _ of text) n++
  return n
}

/**
 * Accepts an answer that has visible content and at most `limit` characters
 * (code points). The text is returned unchanged: evidence quotes are checked
 * against exactly what the candidate wrote.
 */
export const validateAnswerText = (
  answerId: string,
  text: string,
  limit: number
): Effect.Effect<string, EmptyAnswer | AnswerTooLong> => {
  if (!/[\p{L}\p{N}\p{S}\p{P}]/u.test(text)) return Effect.fail(new EmptyAnswer({ answerId }))
  if (text.length > limit) {
    const length = codePointLength(text)
    if (length > limit) return Effect.fail(new AnswerTooLong({ answerId, length, limit }))
  }
  return Effect.succeed(text)
}
