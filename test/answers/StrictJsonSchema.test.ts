import { describe, expect, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { defaultRubric } from "../../src/answers/DefaultRubric.ts"
import { gradingFormat } from "../../src/answers/ModelGrading.ts"
import { toStrictJsonSchema } from "../../src/answers/StrictJsonSchema.ts"
import { strictSchemaProblems } from "./FakeOpenAiServer.ts"

describe("strict JSON schema", () => {
  it("closes every object, requires every property and drops unsupported keywords", () => {
    const schema = toStrictJsonSchema(
      Schema.Struct({
        name: Schema.String.check(Schema.isMinLength(2)),
        tags: Schema.Array(Schema.String).check(Schema.isUnique()),
        nested: Schema.Struct({ n: Schema.Int })
      })
    )
    expect(strictSchemaProblems(schema)).toEqual([])
    expect(schema).toMatchObject({
      type: "object",
      required: ["name", "tags", "nested"],
      additionalProperties: false,
      properties: { nested: { required: ["n"], additionalProperties: false } }
    })
    expect(JSON.stringify(schema)).not.toContain("minLength")
    expect(JSON.stringify(schema)).not.toContain("uniqueItems")
  })

  it("refuses schemas strict mode cannot express", () => {
    expect(() => toStrictJsonSchema(Schema.Struct({ a: Schema.optionalKey(Schema.String) }))).toThrow(/optional keys/)
    expect(() => toStrictJsonSchema(Schema.String)).toThrow(/object at the root/)
  })

  it("generates the grading format from the rubric and decodes replies with the same schema", () => {
    const format = gradingFormat(defaultRubric)
    expect(strictSchemaProblems(format.jsonSchema)).toEqual([])
    const criteria = (format.jsonSchema as any).properties.criteria
    expect(criteria.required).toEqual(["relevance", "coverage", "clarity"])
    const grade = { rationale: "r", evidence: ["e"], score: 3 }
    const ok = format.decode({ criteria: { relevance: grade, coverage: grade, clarity: grade }, summary: "s" })
    expect(Result.isSuccess(ok)).toBe(true)
    const missing = format.decode({ criteria: { relevance: grade, coverage: grade }, summary: "s" })
    expect(Result.isFailure(missing)).toBe(true)
    const outOfRange = format.decode({
      criteria: { relevance: grade, coverage: grade, clarity: { ...grade, score: 6 } },
      summary: "s"
    })
    expect(Result.isFailure(outOfRange)).toBe(true)
    const extra = format.decode({
      criteria: { relevance: grade, coverage: grade, clarity: grade, x: grade },
      summary: "s"
    })
    expect(Result.isFailure(extra)).toBe(true)
  })
})
