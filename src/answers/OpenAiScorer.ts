/**
 * Answer scoring with an OpenAI chat model and strict structured output.
 *
 * Each answer is graded K times independently (K samples, concurrently); the
 * reported score per criterion is the mean with its spread. A sample whose
 * reply is not valid JSON or does not match the grading schema is asked for
 * again (up to `maxInvalidReplies` times). A sample quoting evidence that is
 * not in the answer is asked for once more; if the new reply still quotes
 * text that is not there, the invented quotes are dropped and the criterion
 * is flagged for a reviewer. When some samples cannot be obtained the answer
 * is scored from the rest (`samples` < `samplesRequested`, lower confidence);
 * when none can, scoring fails with a typed error and nothing is made up.
 */
import { Clock, Effect, Result } from "effect"
import type { ChatCompletion } from "openai/resources/chat/completions"
import type { AnswerScore, CriterionScore } from "../../schemas/AnswerScore.ts"
import type { QuestionInput } from "../../schemas/Rubric.ts"
import { ModelOutputInvalid, type OpenAiCallError } from "./AnswerErrors.ts"
import { type AnswersConfig, maxSamples } from "./AnswersConfig.ts"
import { rubricFor } from "./DefaultRubric.ts"
import { makeEvidenceChecker } from "./Evidence.ts"
import { criterionScore, flagReason, modelConfidence, overallOf, type SampleGrade } from "./internal/aggregate.ts"
import { type GradingFormat, gradingFormat, type ModelGrading } from "./ModelGrading.ts"
import type { OpenAiKeyPoolShape } from "./OpenAiKeyPool.ts"
import * as prompt from "./prompts/v1.ts"

/** Samples whose ratings of one criterion differ by this much or more get the criterion flagged. */

export interface OpenAiScoringInput {
  readonly answerId: string
  readonly questionId: string
  readonly question: QuestionInput
  /** Already validated (non-empty, within limits). */
  readonly answerText: string
  readonly samples?: number | undefined
}

interface Sample {
  readonly grading: ModelGrading
  readonly grades: { readonly [criterionId: string]: SampleGrade }
  /** Per criterion: how many quoted passages were not found in the answer. */
  readonly unverified: { readonly [criterionId: string]: number }
}

type Settings = Pick<AnswersConfig, "model" | "temperature" | "samples" | "perAnswerDeadlineMs" | "maxInvalidReplies">

const parseReply = (completion: ChatCompletion, format: GradingFormat): Result.Result<ModelGrading, string> => {
  const choice = completion.choices[0]
  if (choice === undefined) return Result.fail("the reply has no choices")
  if (choice.message.refusal) return Result.fail(`the model refused: ${choice.message.refusal}`)
  if (choice.finish_reason === "length") return Result.fail("the reply was cut off at the token limit")
  const content = choice.message.content
  if (content === null || content.trim() === "") return Result.fail("the reply is empty")
  let json: unknown
  try {
    json = JSON.parse(content)
  } catch {
    return Result.fail("the reply is not valid JSON")
  }
  return Result.mapError(format.decode(json), (e) => `the reply does not match the grading schema: ${e}`)
}

/** Creates the scoring function over a key pool. */
export const makeOpenAiScorer = (pool: OpenAiKeyPoolShape, settings: Settings) => {
  const scoreAnswer = (input: OpenAiScoringInput): Effect.Effect<AnswerScore, OpenAiCallError | ModelOutputInvalid> =>
    Effect.gen(function* () {
      const { rubric, source } = rubricFor(input.question)
      const format = gradingFormat(rubric)
      const requested = Math.min(maxSamples, Math.max(1, Math.round(input.samples ?? settings.samples)))
      const deadline = (yield* Clock.currentTimeMillis) + settings.perAnswerDeadlineMs
      const checker = makeEvidenceChecker(input.answerText)
      const messages = [
        { role: "system" as const, content: prompt.system },
        { role: "user" as const, content: prompt.user(input.question, rubric, input.answerText) }
      ]

      const complete = pool.call(
        "chat.completions",
        (client, options) =>
          client.chat.completions.create(
            {
              model: settings.model,
              temperature: settings.temperature,
              messages,
              response_format: {
                type: "json_schema",
                json_schema: { name: "answer_grading", strict: true, schema: format.jsonSchema }
              }
            },
            options
          ),
        deadline
      )

      /** A reply that decodes, asking again while replies are malformed. */
      const validGrading: Effect.Effect<ModelGrading, OpenAiCallError | ModelOutputInvalid> = Effect.gen(function* () {
        let reason = ""
        for (let attempt = 1; attempt <= 1 + settings.maxInvalidReplies; attempt++) {
          const parsed = parseReply(yield* complete, format)
          if (Result.isSuccess(parsed)) return parsed.success
          reason = parsed.failure
          yield* Effect.logDebug(`answer ${input.answerId}: unusable grading (attempt ${attempt}): ${reason}`)
        }
        return yield* new ModelOutputInvalid({
          answerId: input.answerId,
          attempts: 1 + settings.maxInvalidReplies,
          reason
        })
      })

      const verify = (grading: ModelGrading): Sample => {
        const grades: Record<string, SampleGrade> = {}
        const unverified: Record<string, number> = {}
        for (const criterion of rubric.criteria) {
          const grade = grading.criteria[criterion.id]!
          const checked = checker.check(grade.evidence)
          grades[criterion.id] = { score: grade.score, evidence: checked.verified, rationale: grade.rationale }
          if (checked.rejected.length > 0) unverified[criterion.id] = checked.rejected.length
        }
        return { grading, grades, unverified }
      }

      const sample: Effect.Effect<Sample, OpenAiCallError | ModelOutputInvalid> = Effect.gen(function* () {
        const first = verify(yield* validGrading)
        if (Object.keys(first.unverified).length === 0) return first
        yield* Effect.logDebug(`answer ${input.answerId}: evidence not found in the answer; grading once more`)
        const again = yield* Effect.result(validGrading)
        return Result.isSuccess(again) ? verify(again.success) : first
      })

      const outcomes = yield* Effect.forEach(Array.from({ length: requested }), () => Effect.result(sample), {
        concurrency: requested
      })
      const samples = outcomes.filter(Result.isSuccess).map((r) => r.success)
      if (samples.length === 0) {
        const failure = outcomes.find(Result.isFailure)!
        return yield* Effect.fail(failure.failure)
      }

      const criteria: Array<CriterionScore> = rubric.criteria.map((criterion) => {
        const grades = samples.map((s) => s.grades[criterion.id]!)
        const invented = samples.filter((s) => s.unverified[criterion.id] !== undefined).length
        return criterionScore(
          criterion,
          grades,
          flagReason(
            invented,
            samples.length,
            grades.map((g) => g.score)
          )
        )
      })

      return {
        answerId: input.answerId,
        questionId: input.questionId,
        scorer: "openai",
        label: `model graded (${settings.model})`,
        model: settings.model,
        promptVersion: prompt.version,
        temperature: settings.temperature,
        samples: samples.length,
        samplesRequested: requested,
        rubricSource: source,
        criteria,
        overall: overallOf(criteria),
        summary: samples[0]!.grading.summary,
        confidence: modelConfidence(criteria, samples.length, requested)
      } satisfies AnswerScore
    })

  return scoreAnswer
}
