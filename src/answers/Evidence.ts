/**
 * Checks that quoted evidence really occurs in the answer.
 *
 * Models paraphrase when asked to quote; a paraphrase presented as a quote
 * misleads the reviewer, so quotes are matched against the answer after
 * normalising only what does not change meaning: Unicode compatibility forms,
 * typographic quotes and dashes, whitespace runs and letter case. A quote may
 * elide text with "..." as long as its pieces occur in order. Verified quotes
 * are returned as the answer's own text, not the model's rendering of it.
 */

const singleQuotes = /[\u2018\u2019\u201a\u201b\u2032\u0060\u00b4]/u
const doubleQuotes = /[\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb]/u
const dashes = /[\u2010-\u2015\u2212]/u
const whitespace = /\s/u

interface Normalised {
  readonly text: string
  /** For each character of `text`, the index of the original character it came from. */
  readonly origin: ReadonlyArray<number>
}

const normalise = (input: string): Normalised => {
  let text = ""
  const origin: Array<number> = []
  let pendingSpace = false
  let index = 0
  for (const codePoint of input) {
    const at = index
    index += codePoint.length
    if (whitespace.test(codePoint)) {
      pendingSpace = text.length > 0
      continue
    }
    let folded = codePoint.normalize("NFKC").toLowerCase()
    if (singleQuotes.test(folded)) folded = "'"
    else if (doubleQuotes.test(folded)) folded = '"'
    else if (dashes.test(folded)) folded = "-"
    if (pendingSpace) {
      text += " "
      origin.push(at)
      pendingSpace = false
    }
    for (const ch of folded) {
      if (whitespace.test(ch)) continue
      text += ch
      // One entry per UTF-16 unit, because positions in `text` are UTF-16 indices.
      for (let unit = 0; unit < ch.length; unit++) origin.push(at)
    }
  }
  return { text, origin }
}

const trimQuote = (piece: string): string => piece.replace(/^[\s"'.,;:!?()[\]-]+|[\s"'.,;:!?()[\]-]+$/gu, "")

/** Minimum normalised characters of one quoted piece; shorter pieces would match almost anything. */
const minPieceLength = 3

export interface EvidenceCheck {
  /** Quotes found in the answer, as the answer's original text (one entry per quoted piece). */
  readonly verified: ReadonlyArray<string>
  /** Quotes not found in the answer. */
  readonly rejected: ReadonlyArray<string>
}

/** Prepares an answer once for checking many quotes against it. */
export const makeEvidenceChecker = (answer: string) => {
  const haystack = normalise(answer)
  const spanOf = (start: number, length: number): string => {
    const from = haystack.origin[start]!
    const lastOrigin = haystack.origin[start + length - 1]!
    const lastCodePoint = answer.codePointAt(lastOrigin)!
    return answer.slice(from, lastOrigin + (lastCodePoint > 0xffff ? 2 : 1))
  }

  /** The answer's own text for each piece of `quote`, or undefined when any piece is missing. */
  const locate = (quote: string): ReadonlyArray<string> | undefined => {
    const pieces = normalise(quote)
      .text.split(/\.{3,}|\[\s*\.*\s*\]/u)
      .map(trimQuote)
      .filter((p) => p.length > 0)
    if (pieces.length === 0 || pieces.some((p) => p.length < minPieceLength)) return undefined
    const spans: Array<string> = []
    let from = 0
    for (const piece of pieces) {
      const at = haystack.text.indexOf(piece, from)
      if (at < 0) return undefined
      spans.push(spanOf(at, piece.length))
      from = at + piece.length
    }
    return spans
  }

  return {
    locate,
    check: (quotes: ReadonlyArray<string>): EvidenceCheck => {
      const verified: Array<string> = []
      const rejected: Array<string> = []
      for (const quote of quotes) {
        const spans = locate(quote)
        if (spans === undefined) rejected.push(quote)
        else for (const span of spans) if (!verified.includes(span)) verified.push(span)
      }
      return { verified, rejected }
    }
  }
}

/** True when every piece of `quote` occurs, in order, in `answer` (see the module notes for what is normalised). */
export const isVerbatim = (answer: string, quote: string): boolean =>
  makeEvidenceChecker(answer).locate(quote) !== undefined
