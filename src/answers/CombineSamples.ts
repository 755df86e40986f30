/**
 * Combines independently stored gradings (one `AnswerScore` per sample, each graded alone) into the answer's
 * score, with the same arithmetic the model scorer uses for samples graded together: mean per criterion with its
 * spread, flags for invented evidence and disagreement, confidence from agreement and samples obtained. Storing
 * samples one by one is what lets scoring resume after a crash without paying for the finished samples again.
 */
import type { AnswerScore } from "../../schemas/AnswerScore.ts"
import { criterionScore, flagReason, modelConfidence, overallOf } from "./internal/aggregate.ts"

/** Samples whose ratings of one criterion differ by this much or more get the criterion flagged. */

/**
 * The answer's score from its sample rows (in sample order), `requested` being how many were asked for. A single
 * offline score is returned as it is: the heuristic has one sample and its own confidence.
 */
export const combineSamples = (samples: ReadonlyArray<AnswerScore>, requested: number): AnswerScore => {
  const first = samples[0]
  if (first === undefined) throw new RangeError("combineSamples needs at least one sample")
  if (first.scorer === "offline-heuristic") return first
  const criteria = first.criteria.map((criterion) => {
    const grades = samples.map((s) => s.criteria.find((c) => c.criterionId === criterion.criterionId) ?? criterion)
    // A single-sample grading flags a criterion only for quotes that were not in the answer.
    const invented = grades.filter((g) => g.flagged !== undefined).length
    return criterionScore(
      { id: criterion.criterionId, name: criterion.name, weight: criterion.weight },
      grades.map((g) => ({ score: g.score, evidence: g.evidence, rationale: g.rationale })),
      flagReason(
        invented,
        samples.length,
        grades.map((g) => g.score)
      )
    )
  })
  const samplesRequested = Math.max(requested, samples.length)
  return {
    ...first,
    samples: samples.length,
    samplesRequested,
    criteria,
    overall: overallOf(criteria),
    confidence: modelConfidence(criteria, samples.length, samplesRequested)
  }
}
