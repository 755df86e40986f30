/**
 * Interview question and scoring rubric, as accepted by `POST /v1/interviews`.
 *
 * Every check carries a message that names the field, so an HTTP 400 tells the
 * caller what to fix without reading the schema.
 */
import { Effect, Schema } from "effect"

/** A short text limited to `max` UTF-16 units, required to have non-blank content. */
const boundedText = (field: string, min: number, max: number) =>
  Schema.String.check(
    Schema.makeFilter((s: string) => s.trim().length >= min || `${field} must not be empty`, {
      toJsonSchema: () => ({ minLength: min, pattern: "\\S" })
    }),
    Schema.isMaxLength(max, { message: `${field} must be at most ${max} characters` })
  )

const levelText = (level: number) =>
  boundedText(`levels.${level}`, 1, 2000).annotate({
    description: `What an answer scoring ${level} on this criterion looks like.`
  })

/** Anchored descriptions of rubric levels 1 (weakest) to 5 (strongest); any subset may be given. */
export const CriterionLevels = Schema.Struct({
  "1": Schema.optionalKey(levelText(1)),
  "2": Schema.optionalKey(levelText(2)),
  "3": Schema.optionalKey(levelText(3)),
  "4": Schema.optionalKey(levelText(4)),
  "5": Schema.optionalKey(levelText(5))
}).annotate({
  title: "CriterionLevels",
  description: "Anchored descriptions of score levels 1 (weakest) to 5 (strongest). Any subset may be given."
})
export type CriterionLevels = typeof CriterionLevels.Type

/** Lower-case slug used as a stable criterion id. */
export const CriterionId = Schema.String.check(
  Schema.isPattern(/^[a-z0-9][a-z0-9_-]{0,63}$/u, {
    message: "criterion id must be a slug of 1 to 64 characters: lower-case letters, digits, '-' or '_'"
  }),
  Schema.isMaxLength(64, { message: "criterion id must be at most 64 characters" })
).annotate({ description: "Stable slug identifying the criterion (e.g. `system-design`)." })

/** One scored dimension of an answer. */
export const Criterion = Schema.Struct({
  id: CriterionId,
  name: boundedText("criterion name", 1, 200).annotate({ description: "Short human-readable name." }),
  description: Schema.optionalKey(
    boundedText("criterion description", 1, 2000).annotate({
      description: "What the criterion measures; also used as keywords by the offline scorer."
    })
  ),
  weight: Schema.Number.check(
    Schema.isFinite({ message: "criterion weight must be a finite number" }),
    Schema.isGreaterThan(0, { message: "criterion weight must be greater than 0" }),
    Schema.isLessThanOrEqualTo(100, { message: "criterion weight must be at most 100" })
  )
    .annotate({ description: "Relative weight in the overall score, in (0, 100]. Defaults to 1 when omitted." })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed(1))),
  levels: Schema.optionalKey(CriterionLevels)
}).annotate({ title: "Criterion", description: "One scored dimension of an answer, rated 1 to 5." })
export type Criterion = typeof Criterion.Type

/** A rubric: 1 to 20 criteria with unique ids. */
export const Rubric = Schema.Struct({
  criteria: Schema.Array(Criterion).check(
    Schema.isMinLength(1, { message: "rubric.criteria must contain at least 1 criterion" }),
    Schema.isMaxLength(20, { message: "rubric.criteria must contain at most 20 criteria" }),
    Schema.makeFilter((criteria: ReadonlyArray<{ readonly id: string }>) => {
      const seen = new Set<string>()
      for (const c of criteria) {
        if (seen.has(c.id)) return `rubric.criteria ids must be unique; "${c.id}" appears more than once`
        seen.add(c.id)
      }
      return true
    })
  )
}).annotate({ title: "Rubric", description: "Criteria an answer is scored against; each is rated 1 to 5." })
export type Rubric = typeof Rubric.Type

/** A question as submitted when an interview is created. */
export const QuestionInput = Schema.Struct({
  prompt: boundedText("prompt", 1, 4000).annotate({ description: "The question shown to the candidate." }),
  rubric: Schema.optionalKey(Rubric).annotate({
    description:
      "Scoring rubric. When omitted, answers are scored on the default rubric: relevance, coverage of expected points, clarity."
  }),
  expectedPoints: Schema.optionalKey(
    Schema.Array(boundedText("expected point", 1, 500)).check(
      Schema.isMaxLength(50, { message: "expectedPoints must contain at most 50 items" })
    )
  ).annotate({ description: "Points a strong answer is expected to cover (at most 50, each up to 500 characters)." })
}).annotate({ title: "QuestionInput", description: "An interview question with its optional rubric." })
export type QuestionInput = typeof QuestionInput.Type
