import { describe, expect, it } from "@effect/vitest"
import { backoffMs, classifyStatus, keySuffix, retryAfterMs } from "../../src/answers/internal/retryPolicy.ts"

describe("retry policy", () => {
  const now = Date.parse("2025-01-01T00:00:00Z")

  it("reads Retry-After as seconds, as an HTTP date, and retry-after-ms first", () => {
    expect(retryAfterMs(new Headers({ "retry-after": "2" }), now)).toBe(2000)
    expect(retryAfterMs(new Headers({ "retry-after": "0.25" }), now)).toBe(250)
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:05 GMT" }), now)).toBe(5000)
    expect(retryAfterMs(new Headers({ "retry-after": "Tue, 31 Dec 2024 23:00:00 GMT" }), now)).toBe(0)
    expect(retryAfterMs(new Headers({ "retry-after-ms": "120", "retry-after": "9" }), now)).toBe(120)
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeUndefined()
    expect(retryAfterMs(new Headers(), now)).toBeUndefined()
  })

  it("backs off exponentially within ±25 % jitter and the cap", () => {
    expect(backoffMs(100, 1, 10_000, 0.5)).toBe(100)
    expect(backoffMs(100, 3, 10_000, 0.5)).toBe(400)
    expect(backoffMs(100, 3, 10_000, 0)).toBe(300)
    expect(backoffMs(100, 20, 1000, 0.999)).toBeLessThanOrEqual(1250)
  })

  it("classifies statuses", () => {
    expect(classifyStatus(401)).toBe("revoked")
    expect(classifyStatus(403)).toBe("revoked")
    expect(classifyStatus(429)).toBe("rateLimited")
    expect(classifyStatus(500)).toBe("transient")
    expect(classifyStatus(503)).toBe("transient")
    expect(classifyStatus(undefined)).toBe("transient")
    expect(classifyStatus(400)).toBe("fatal")
    expect(classifyStatus(404)).toBe("fatal")
  })

  it("shows at most the last four characters of a key, never half of a short one", () => {
    expect(keySuffix("sk-proj-abcdefghijkl1234")).toBe("…1234")
    expect(keySuffix("abcdef")).toBe("…def")
    expect(keySuffix("ab")).toBe("…b")
  })
})
