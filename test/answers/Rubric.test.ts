import { describe, expect, it } from "@effect/vitest"
import { Exit, Schema } from "effect"
import { QuestionInput, Rubric } from "../../schemas/Rubric.ts"

const decode = Schema.decodeUnknownExit(QuestionInput)
const errorOf = (input: unknown): string => {
  const exit = decode(input, { errors: "all" })
  if (Exit.isSuccess(exit)) throw new Error("expected a validation failure")
  return String(exit.cause)
}

describe("QuestionInput", () => {
  it("accepts a question with a rubric and fills the default weight", () => {
    const exit = decode({
      prompt: "Design a rate limiter.",
      rubric: { criteria: [{ id: "design", name: "Design", levels: { "1": "none", "5": "excellent" } }] },
      expectedPoints: ["token bucket"]
    })
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) expect(exit.value.rubric?.criteria[0]?.weight).toBe(1)
  })

  it("names the field that is wrong", () => {
    expect(errorOf({ prompt: "   " })).toContain("prompt must not be empty")
    expect(errorOf({ prompt: "x".repeat(4001) })).toContain("prompt must be at most 4000 characters")
    expect(errorOf({ prompt: "q", rubric: { criteria: [] } })).toContain("at least 1 criterion")
    expect(errorOf({ prompt: "q", rubric: { criteria: [{ id: "Bad Id", name: "n" }] } })).toContain(
      "criterion id must be a slug"
    )
    expect(errorOf({ prompt: "q", rubric: { criteria: [{ id: "a", name: "n", weight: 0 }] } })).toContain(
      "criterion weight must be greater than 0"
    )
    expect(errorOf({ prompt: "q", rubric: { criteria: [{ id: "a", name: "n", weight: 101 }] } })).toContain(
      "criterion weight must be at most 100"
    )
    expect(errorOf({ prompt: "q", expectedPoints: Array.from({ length: 51 }, () => "p") })).toContain(
      "expectedPoints must contain at most 50 items"
    )
    expect(errorOf({ prompt: "q", expectedPoints: ["x".repeat(501)] })).toContain(
      "expected point must be at most 500 characters"
    )
  })

  it("rejects duplicate criterion ids and more than 20 criteria", () => {
    expect(
      errorOf({
        prompt: "q",
        rubric: {
          criteria: [
            { id: "a", name: "A" },
            { id: "a", name: "B" }
          ]
        }
      })
    ).toContain('"a" appears more than once')
    const many = Array.from({ length: 21 }, (_, i) => ({ id: `c${i}`, name: `C${i}` }))
    expect(errorOf({ prompt: "q", rubric: { criteria: many } })).toContain("at most 20 criteria")
  })

  it("documents itself in the generated JSON Schema", () => {
    const document = Schema.toJsonSchemaDocument(Rubric)
    const json = JSON.stringify(document)
    expect(json).toContain("Defaults to 1 when omitted")
    expect(json).toContain("^[a-z0-9][a-z0-9_-]{0,63}$")
  })
})
