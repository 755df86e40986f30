/**
 * The result of scoring one interview answer against its rubric.
 *
 * Scores are on two scales on purpose: each criterion is rated on the rubric's
 * 1–5 scale (what a reviewer reads next to the level anchors), while `overall`
 * is a 0–100 number (what lists and reports sort by). `overall` is the
 * weight-averaged criterion mean mapped linearly: 1 → 0, 3 → 50, 5 → 100.
 */
import { Schema } from "effect"

const unit = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const rating = Schema.Number.check(Schema.isBetween({ minimum: 1, maximum: 5 }))

/** Which engine produced a score. */
export const ScorerKind = Schema.Literals(["openai", "offline-heuristic"]).annotate({
  description: "`openai`: graded by a language model; `offline-heuristic`: keyword and structure heuristics, no model."
})
export type ScorerKind = typeof ScorerKind.Type

/** How far the samples of one criterion disagree (all zero for a single sample). */
export const ScoreSpread = Schema.Struct({
  stddev: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
    description: "Population standard deviation of the sample ratings."
  }),
  min: rating,
  max: rating
}).annotate({ title: "ScoreSpread" })
export type ScoreSpread = typeof ScoreSpread.Type

/** One rubric criterion's aggregated rating. */
export const CriterionScore = Schema.Struct({
  criterionId: Schema.String,
  name: Schema.String,
  weight: Schema.Number,
  score: rating.annotate({ description: "Mean rating over the samples, 1 (weakest) to 5 (strongest)." }),
  spread: ScoreSpread,
  sampleScores: Schema.Array(rating).annotate({ description: "Each sample's rating, in sample order." }),
  evidence: Schema.Array(Schema.String).annotate({
    description: "Verbatim passages of the answer that support the rating (checked against the answer text)."
  }),
  rationale: Schema.String.annotate({ description: "Short justification (from the first sample that gave one)." }),
  flagged: Schema.optionalKey(Schema.String).annotate({
    description: "Present when a reviewer should look: why this rating is less trustworthy."
  })
}).annotate({ title: "CriterionScore" })
export type CriterionScore = typeof CriterionScore.Type

/** The scored answer. */
export const AnswerScore = Schema.Struct({
  answerId: Schema.String,
  questionId: Schema.String,
  scorer: ScorerKind,
  label: Schema.String.annotate({
    description: "Human-facing provenance label, e.g. `offline heuristic` or `model graded (gpt-4o-mini)`."
  }),
  model: Schema.String.annotate({ description: "Model name, or the heuristic's version for the offline scorer." }),
  promptVersion: Schema.String.annotate({ description: "Version of the grading prompt (or heuristic)." }),
  temperature: Schema.Number,
  samples: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
    description: "Number of independent gradings that were aggregated."
  }),
  samplesRequested: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  rubricSource: Schema.Literals(["question", "default"]).annotate({
    description: "`default`: the question had no rubric and the default one (relevance, coverage, clarity) was used."
  }),
  criteria: Schema.Array(CriterionScore),
  overall: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 100 })).annotate({
    description: "Weighted mean of the criterion scores mapped from 1–5 to 0–100 (1 → 0, 3 → 50, 5 → 100)."
  }),
  summary: Schema.String,
  confidence: unit.annotate({
    description:
      "0–1: how much the score can be trusted (sample agreement, flagged criteria, samples obtained; the offline scorer caps it low)."
  })
}).annotate({ title: "AnswerScore", description: "Rubric-based score of one interview answer." })
export type AnswerScore = typeof AnswerScore.Type

/** Maps a 1–5 rating to the 0–100 overall scale. */
export const ratingToPercent = (rating: number): number => ((Math.min(5, Math.max(1, rating)) - 1) / 4) * 100
