/**
 * Deterministic scoring without a language model, used when no API key is
 * configured. It measures surface evidence only: overlap with the question,
 * the rubric's words (names, descriptions, level anchors) and the expected
 * points (content-word stems), plus structure (sentences, examples, numbers,
 * reasoning cues) and length. It cannot tell a right answer from a fluent
 * wrong one, which is why its confidence is capped low and every score says
 * "offline heuristic".
 */
import type { AnswerScore, CriterionScore } from "../../schemas/AnswerScore.ts"
import type { Criterion, QuestionInput } from "../../schemas/Rubric.ts"
import { rubricFor } from "./DefaultRubric.ts"
import { criterionScore, overallOf } from "./internal/aggregate.ts"
import {
  clarityOf,
  contentStems,
  lengthFitness,
  overlap,
  sentences,
  type Structure,
  structureOf
} from "./internal/textFeatures.ts"

export const offlineModel = "offline-heuristic-v1"
export const offlineLabel = "offline heuristic"

/** An expected point counts as covered when this share of its content words appears in the answer. */
const pointCoveredAt = 0.6

interface Analysis {
  readonly answerStems: ReadonlySet<string>
  readonly sentenceStems: ReadonlyArray<{ readonly text: string; readonly stems: ReadonlySet<string> }>
  readonly structure: Structure
  readonly promptStems: ReadonlySet<string>
  readonly points: ReadonlyArray<{ readonly text: string; readonly stems: ReadonlySet<string>; readonly share: number }>
}

const analyse = (question: QuestionInput, answer: string): Analysis => {
  const answerStems = new Set(contentStems(answer))
  return {
    answerStems,
    sentenceStems: sentences(answer).map((text) => ({ text, stems: new Set(contentStems(text)) })),
    structure: structureOf(answer),
    promptStems: new Set(contentStems(question.prompt)),
    points: (question.expectedPoints ?? []).map((text) => {
      const stems = new Set(contentStems(text))
      return { text, stems, share: overlap(stems, answerStems) }
    })
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x))

/** 0–1 coverage of the expected points, or undefined when the question lists none. */
const pointCoverage = (a: Analysis): number | undefined =>
  a.points.length === 0
    ? undefined
    : a.points.reduce((s, p) => s + clamp01(p.share / pointCoveredAt), 0) / a.points.length

const relevance = (a: Analysis): number =>
  0.8 * clamp01(overlap(a.promptStems, a.answerStems) / 0.5) + 0.2 * lengthFitness(a.structure.wordCount)

const substance = (a: Analysis): number =>
  0.5 * lengthFitness(a.structure.wordCount) +
  0.2 * (a.structure.hasExample ? 1 : 0) +
  0.15 * (a.structure.hasNumbers ? 1 : 0) +
  0.15 * (a.structure.hasReasoning ? 1 : 0)

/** The answer sentences sharing the most stems with `wanted`, best first, at most three. */
const evidenceFor = (a: Analysis, wanted: ReadonlySet<string>): ReadonlyArray<string> =>
  a.sentenceStems
    .map((s, index) => ({ text: s.text, index, hits: [...wanted].filter((w) => s.stems.has(w)).length }))
    .filter((s) => s.hits > 0)
    .sort((x, y) => y.hits - x.hits || x.index - y.index)
    .slice(0, 3)
    .map((s) => s.text)

const union = (...sets: ReadonlyArray<ReadonlySet<string>>): ReadonlySet<string> => new Set(sets.flatMap((s) => [...s]))

const toRating = (signal: number): number => Math.round((1 + 4 * clamp01(signal)) * 10) / 10

interface Judgement {
  readonly signal: number
  readonly evidence: ReadonlyArray<string>
  readonly rationale: string
}

const judgeDefault = (criterion: Criterion, a: Analysis): Judgement | undefined => {
  switch (criterion.id) {
    case "relevance":
      return {
        signal: relevance(a),
        evidence: evidenceFor(a, a.promptStems),
        rationale: `Shares ${Math.round(overlap(a.promptStems, a.answerStems) * 100)} % of the question's content words.`
      }
    case "coverage": {
      const coverage = pointCoverage(a)
      if (coverage === undefined) {
        return {
          signal: substance(a),
          evidence: evidenceFor(a, a.promptStems),
          rationale: "No expected points given; rated on length, examples, numbers and reasoning cues."
        }
      }
      const covered = a.points.filter((p) => p.share >= pointCoveredAt).length
      return {
        signal: 0.85 * coverage + 0.15 * substance(a),
        evidence: evidenceFor(a, union(...a.points.map((p) => p.stems))),
        rationale: `Mentions ${covered} of ${a.points.length} expected points.`
      }
    }
    case "clarity":
      return {
        signal: clarityOf(a.structure),
        evidence: a.sentenceStems.slice(0, 1).map((s) => s.text),
        rationale: `${plural(a.structure.sentenceCount, "sentence")}, ${plural(Math.round(a.structure.meanSentenceWords), "word")} each on average${a.structure.hasExample ? ", with an example" : ""}.`
      }
    default:
      return undefined
  }
}

/** A rubric criterion of the question's own: its words, its level anchors, then general quality. */
const judgeCustom = (criterion: Criterion, a: Analysis): Judgement => {
  const keywords = new Set(contentStems(`${criterion.name} ${criterion.description ?? ""}`))
  const keywordMatch = clamp01(overlap(keywords, a.answerStems) / 0.35)
  const coverage = pointCoverage(a) ?? relevance(a)
  const quality = 0.5 * clarityOf(a.structure) + 0.5 * substance(a)
  let signal = 0.4 * keywordMatch + 0.3 * coverage + 0.3 * quality
  let anchored = ""
  const levels = Object.entries(criterion.levels ?? {})
    .map(([level, text]) => ({
      level: Number(level),
      share: overlap(new Set(contentStems(text ?? "")), a.answerStems)
    }))
    .filter((l) => l.share >= 0.2)
    .sort((x, y) => y.share - x.share || y.level - x.level)
  const best = levels[0]
  if (best !== undefined) {
    signal = 0.5 * signal + 0.5 * ((best.level - 1) / 4)
    anchored = ` Closest level description: ${best.level}.`
  }
  return {
    signal,
    evidence: evidenceFor(a, union(keywords, ...a.points.map((p) => p.stems))),
    rationale: `Uses ${Math.round(overlap(keywords, a.answerStems) * 100)} % of the criterion's key words.${anchored}`
  }
}

const summaryOf = (a: Analysis): string => {
  const parts = [`${plural(a.structure.wordCount, "word")} in ${plural(a.structure.sentenceCount, "sentence")}`]
  if (a.points.length > 0) {
    const missing = a.points.filter((p) => p.share < pointCoveredAt).map((p) => p.text)
    parts.push(`mentions ${a.points.length - missing.length} of ${a.points.length} expected points`)
    if (missing.length > 0) {
      const shown = missing.slice(0, 3).map((m) => (m.length > 60 ? `${m.slice(0, 57)}...` : m))
      parts.push(`not found: ${shown.join("; ")}${missing.length > 3 ? ` and ${missing.length - 3} more` : ""}`)
    }
  }
  if (a.structure.hasExample) parts.push("gives an example")
  return `Offline heuristic (word overlap and structure, not a judgement of correctness): ${parts.join(", ")}.`
}

/** Scores an already validated answer. Same inputs, same output. */
export const scoreOffline = (input: {
  readonly answerId: string
  readonly questionId: string
  readonly question: QuestionInput
  readonly answerText: string
}): AnswerScore => {
  const { rubric, source } = rubricFor(input.question)
  const a = analyse(input.question, input.answerText)
  const criteria: Array<CriterionScore> = rubric.criteria.map((criterion) => {
    const judgement = (source === "default" ? judgeDefault(criterion, a) : undefined) ?? judgeCustom(criterion, a)
    return criterionScore(
      criterion,
      [{ score: toRating(judgement.signal), evidence: judgement.evidence, rationale: judgement.rationale }],
      undefined
    )
  })
  const withPoints = a.points.length > 0 ? 0.15 : 0
  return {
    answerId: input.answerId,
    questionId: input.questionId,
    scorer: "offline-heuristic",
    label: offlineLabel,
    model: offlineModel,
    promptVersion: offlineModel,
    temperature: 0,
    samples: 1,
    samplesRequested: 1,
    rubricSource: source,
    criteria,
    overall: overallOf(criteria),
    summary: summaryOf(a),
    confidence: Math.round((0.25 + withPoints) * 100) / 100
  }
}
