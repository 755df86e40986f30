/** Turning per-sample ratings into the reported criterion scores, overall score and confidence. */
import { type CriterionScore, ratingToPercent } from "../../../schemas/AnswerScore.ts"
import type { Criterion } from "../../../schemas/Rubric.ts"

const round = (value: number, digits: number): number => {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** One sample's grade of one criterion, evidence already verified. */
export interface SampleGrade {
  readonly score: number
  readonly evidence: ReadonlyArray<string>
  readonly rationale: string
}

/** Most evidence shown per criterion; quotes found by more samples come first. */
const maxEvidence = 5

export const criterionScore = (
  criterion: Criterion,
  grades: ReadonlyArray<SampleGrade>,
  flagged: string | undefined
): CriterionScore => {
  const scores = grades.map((g) => g.score)
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length
  const variance = scores.reduce((a, s) => a + (s - mean) ** 2, 0) / scores.length
  const votes = new Map<string, number>()
  for (const g of grades) for (const quote of g.evidence) votes.set(quote, (votes.get(quote) ?? 0) + 1)
  const evidence = [...votes.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, maxEvidence)
    .map(([quote]) => quote)
  return {
    criterionId: criterion.id,
    name: criterion.name,
    weight: criterion.weight,
    score: round(mean, 2),
    spread: { stddev: round(Math.sqrt(variance), 3), min: Math.min(...scores), max: Math.max(...scores) },
    sampleScores: scores,
    evidence,
    rationale: grades.find((g) => g.rationale.trim().length > 0)?.rationale ?? "",
    ...(flagged === undefined ? {} : { flagged })
  }
}

/** Weighted mean of the criterion scores on the 0–100 scale. */
export const overallOf = (criteria: ReadonlyArray<CriterionScore>): number => {
  const totalWeight = criteria.reduce((a, c) => a + c.weight, 0)
  const mean = criteria.reduce((a, c) => a + c.score * c.weight, 0) / totalWeight
  return round(ratingToPercent(mean), 1)
}

/**
 * Model-graded confidence in [0, 1]: agreement between samples (a standard
 * deviation of 2, the largest possible on 1–5, counts as none), lowered for
 * flagged criteria, for samples that could not be obtained, and for a single
 * sample whose agreement is unknown; capped at 0.95 because agreement
 * between samples of one model is not proof of a correct grade.
 */
export const modelConfidence = (
  criteria: ReadonlyArray<CriterionScore>,
  obtained: number,
  requested: number
): number => {
  const meanStddev = criteria.reduce((a, c) => a + c.spread.stddev, 0) / criteria.length
  const agreement = Math.max(0, 1 - meanStddev / 2)
  const flaggedShare = criteria.filter((c) => c.flagged !== undefined).length / criteria.length
  const sampleShare = obtained / requested
  const single = obtained === 1 ? 0.7 : 1
  return round(Math.min(0.95, agreement * (1 - 0.5 * flaggedShare) * (0.5 + 0.5 * sampleShare) * single), 2)
}

/** Ratings this far apart across samples flag the criterion for a person to look at. */
export const disagreementFlagAt = 2

/**
 * Why a criterion is flagged, if it is: quotes that were not in the answer (dropped after one retry) in some
 * samples, or samples that disagree.
 */
export const flagReason = (invented: number, samples: number, scores: ReadonlyArray<number>): string | undefined => {
  const reasons: Array<string> = []
  if (invented > 0) {
    reasons.push(
      `quoted evidence not found in the answer in ${invented} of ${samples} samples (after one retry); those quotes were dropped`
    )
  }
  const low = Math.min(...scores)
  const high = Math.max(...scores)
  if (high - low >= disagreementFlagAt) reasons.push(`samples disagree (ratings from ${low} to ${high})`)
  return reasons.length === 0 ? undefined : reasons.join("; ")
}
