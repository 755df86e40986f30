/** Light-weight English text features for the offline scorer: sentences, content-word stems, structure cues. */

const stopwords = new Set(
  (
    "a about above after again against all also am an and any are as at be because been before being below between both but by " +
    "can could did do does doing down during each few for from further had has have having he her here hers herself him himself " +
    "his how i if in into is it its itself just let me more most my myself no nor not now of off on once only or other our ours " +
    "ourselves out over own same she should so some such than that the their theirs them themselves then there these they this " +
    "those through to too under until up very was we were what when where which while who whom why will with would you your " +
    "yours yourself yourselves i'm it's we're they're don't doesn't didn't can't won't isn't aren't wasn't weren't there's " +
    "that's what's really actually basically like well um uh yeah okay ok thing things way much many get got make made use used"
  ).split(" ")
)

const rules: ReadonlyArray<readonly [string, string]> = [
  ["ational", "ate"],
  ["ization", "ize"],
  ["isation", "ize"],
  ["ations", "ate"],
  ["ation", "ate"],
  ["iveness", "ive"],
  ["fulness", "ful"],
  ["ousness", "ous"],
  ["nesses", ""],
  ["ness", ""],
  ["ments", ""],
  ["ment", ""],
  ["ingly", ""],
  ["edly", ""],
  ["ings", ""],
  ["ing", ""],
  ["ies", "y"],
  ["ied", "y"],
  ["ers", ""],
  ["er", ""],
  ["ed", ""],
  ["es", ""],
  ["ly", ""],
  ["s", ""]
]

/** Strips common English suffixes so "caching", "cached" and "caches" meet at "cach". */
export const stem = (word: string): string => {
  if (word.length <= 4 || /\d/u.test(word)) return word
  for (const [suffix, replacement] of rules) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      if (suffix === "s" && (word.endsWith("ss") || word.endsWith("us") || word.endsWith("is"))) return word
      return word.slice(0, word.length - suffix.length) + replacement
    }
  }
  return word
}

/** Every word of the text, lower-cased (stopwords kept). */
export const words = (text: string): ReadonlyArray<string> =>
  text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'’_-]*/gu) ?? []

/** Stems of the text's content words. */
export const contentStems = (text: string): ReadonlyArray<string> =>
  words(text)
    .map((w) => w.replace(/[’]/gu, "'").replace(/['_-]+$/u, ""))
    .filter((w) => w.length > 1 && !stopwords.has(w))
    .map(stem)

/** The answer's sentences, as exact slices of the text. */
export const sentences = (text: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const match of text.matchAll(/[^.!?\n]+(?:[.!?]+["')\]]*|(?=\n)|$)/gu)) {
    const s = match[0].trim()
    if (/[\p{L}\p{N}]/u.test(s)) out.push(s)
  }
  return out
}

/** Share of `wanted` stems that occur in `have` (0 when nothing is wanted). */
export const overlap = (wanted: ReadonlySet<string>, have: ReadonlySet<string>): number => {
  if (wanted.size === 0) return 0
  let hits = 0
  for (const w of wanted) if (have.has(w)) hits++
  return hits / wanted.size
}

const exampleCue =
  /\b(for example|for instance|e\.g\.|such as|in my (last|previous) (role|job|project)|when i|we once|one time)\b/iu
const reasoningCue =
  /\b(because|therefore|so that|which means|as a result|trade-?off|however|instead|first|second|finally)\b/iu

export interface Structure {
  readonly wordCount: number
  readonly sentenceCount: number
  readonly meanSentenceWords: number
  readonly hasExample: boolean
  readonly hasNumbers: boolean
  readonly hasReasoning: boolean
}

export const structureOf = (text: string): Structure => {
  const all = words(text)
  const sentenceList = sentences(text)
  return {
    wordCount: all.length,
    sentenceCount: sentenceList.length,
    meanSentenceWords: sentenceList.length === 0 ? 0 : all.length / sentenceList.length,
    hasExample: exampleCue.test(text),
    hasNumbers: /\d/u.test(text),
    hasReasoning: reasoningCue.test(text)
  }
}

/** 0–1: too short answers score low, 40–400 words full, very long ones slightly less. */
export const lengthFitness = (wordCount: number): number => {
  if (wordCount < 5) return 0
  if (wordCount < 40) return 0.2 + (0.8 * (wordCount - 5)) / 35
  if (wordCount <= 400) return 1
  return Math.max(0.7, 1 - (wordCount - 400) / 2000)
}

/** 0–1 clarity cues: readable sentence length, several sentences, reasoning and example markers. */
export const clarityOf = (s: Structure): number => {
  const sentenceLength =
    s.meanSentenceWords === 0 ? 0 : s.meanSentenceWords <= 30 ? 1 : Math.max(0.3, 1 - (s.meanSentenceWords - 30) / 40)
  const several = Math.min(1, s.sentenceCount / 3)
  const cues = (s.hasReasoning ? 0.5 : 0) + (s.hasExample ? 0.5 : 0)
  return 0.35 * sentenceLength + 0.25 * several + 0.2 * cues + 0.2 * lengthFitness(s.wordCount)
}
