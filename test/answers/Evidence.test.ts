import { describe, expect, it } from "@effect/vitest"
import { isVerbatim, makeEvidenceChecker } from "../../src/answers/Evidence.ts"

const answer = `I’d start with a  token bucket per tenant.
It refills at a fixed rate — say 100 requests per second — and "burst" capacity absorbs spikes.`

describe("evidence verification", () => {
  it("accepts quotes that differ only in whitespace, typographic quotes, dashes and case", () => {
    expect(isVerbatim(answer, "I'd start with a token bucket per tenant")).toBe(true)
    expect(isVerbatim(answer, "it refills at a fixed rate - say 100 requests per second")).toBe(true)
    expect(isVerbatim(answer, "“burst” capacity absorbs spikes.")).toBe(true)
  })

  it("accepts elisions when the pieces occur in order", () => {
    expect(isVerbatim(answer, "token bucket per tenant ... absorbs spikes")).toBe(true)
    expect(isVerbatim(answer, "absorbs spikes … token bucket per tenant")).toBe(false)
  })

  it("rejects paraphrases, invented text and trivially short quotes", () => {
    expect(isVerbatim(answer, "I would start with a token bucket for each tenant")).toBe(false)
    expect(isVerbatim(answer, "we use a leaky bucket")).toBe(false)
    expect(isVerbatim(answer, "a")).toBe(false)
    expect(isVerbatim(answer, "   ")).toBe(false)
  })

  it("returns the answer's own text for verified quotes", () => {
    const checked = makeEvidenceChecker(answer).check([
      "i'd START with a token bucket",
      "said nothing like this",
      "100 requests … spikes"
    ])
    expect(checked.verified).toEqual(["I’d start with a  token bucket", "100 requests", "spikes"])
    expect(checked.rejected).toEqual(["said nothing like this"])
    for (const quote of checked.verified) expect(answer).toContain(quote)
  })

  it("maps spans correctly around characters outside the basic plane", () => {
    const text = "We shipped it 🚀 on Friday and rolled back on Monday."
    const checked = makeEvidenceChecker(text).check(["shipped it 🚀 on friday"])
    expect(checked.verified).toEqual(["shipped it 🚀 on Friday"])
  })
})
