/**
 * The reply the grading model must produce, per rubric. Criteria are object
 * keys rather than array items so that strict structured output forces the
 * model to rate every criterion exactly once.
 */
import { Result, Schema } from "effect"
import type { Rubric } from "../../schemas/Rubric.ts"
import { toStrictJsonSchema } from "./StrictJsonSchema.ts"

export const CriterionGrade = Schema.Struct({
  rationale: Schema.String.annotate({ description: "One or two sentences on why this rating fits." }),
  evidence: Schema.Array(Schema.String).annotate({
    description: "Up to three short passages copied exactly from the answer that support the rating."
  }),
  score: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 })).annotate({
    description: "Integer rating from 1 (weakest) to 5 (strongest)."
  })
}).annotate({ identifier: "CriterionGrade" })
export type CriterionGrade = typeof CriterionGrade.Type

const gradingSchemaOf = (ids: ReadonlyArray<string>) =>
  Schema.Struct({
    criteria: Schema.Struct(Object.fromEntries(ids.map((id) => [id, CriterionGrade]))),
    summary: Schema.String.annotate({ description: "Two or three sentences on the answer's strengths and gaps." })
  })

/** A decoded grading: one grade per criterion id plus a summary. */
export interface ModelGrading {
  readonly criteria: { readonly [criterionId: string]: CriterionGrade }
  readonly summary: string
}

/** Decoder and strict JSON schema of the grading for one rubric. */
export interface GradingFormat {
  readonly jsonSchema: { readonly [key: string]: unknown }
  /** Decodes a parsed reply; the failure is a readable description of the mismatch. */
  readonly decode: (json: unknown) => Result.Result<ModelGrading, string>
}

const cache = new Map<string, GradingFormat>()

/** The grading format of a rubric, cached by its criterion ids. */
export const gradingFormat = (rubric: Rubric): GradingFormat => {
  const ids = rubric.criteria.map((c) => c.id)
  const key = ids.join("\u0000")
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const schema = gradingSchemaOf(ids)
  const decode = Schema.decodeUnknownResult(schema)
  const format: GradingFormat = {
    jsonSchema: toStrictJsonSchema(schema),
    decode: (json) => Result.mapError(decode(json, { onExcessProperty: "error" }), (e) => e.message)
  }
  if (cache.size > 256) cache.clear()
  cache.set(key, format)
  return format
}
