import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Result } from "effect"
import { sampleKeyPool } from "../../src/answers/OpenAiKeyPool.ts"
import { makeMetrics } from "../../src/Metrics.ts"
import { readExposition } from "../metrics/Exposition.ts"
import { answer, captureLogs, fakeOpenAi, fastConfig, scoreWith } from "./support.ts"

const answers = (n: number) => Array.from({ length: n }, (_, i) => `${answer} Variant ${i}.`)

describe("OpenAI key pool", () => {
  it.live("rotates round-robin over healthy keys", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi()
      const { results, metrics } = yield* scoreWith(fastConfig(fake, ["sk-a-aaaa", "sk-b-bbbb"]), [answer], 4)
      expect(results.every(Result.isSuccess)).toBe(true)
      const perKey = (k: string) => fake.requests.filter((r) => r.apiKey === k).length
      expect(perKey("sk-a-aaaa")).toBe(2)
      expect(perKey("sk-b-bbbb")).toBe(2)
      expect(metrics.keys.map((k) => [k.key, k.state, k.requests, k.successes])).toEqual([
        ["…aaaa", "active", 2, 2],
        ["…bbbb", "active", 2, 2]
      ])
    })
  )

  it.live("scores every answer when one of two keys is revoked, disables it and logs only its suffix", () =>
    Effect.gen(function* () {
      const logs = captureLogs()
      const fake = yield* fakeOpenAi({ revokedKeys: ["sk-revoked-secret-dead"] })
      const config = fastConfig(fake, ["sk-revoked-secret-dead", "sk-good-secret-beef"])
      const { results, metrics } = yield* scoreWith(config, answers(5)).pipe(Effect.provide(logs.layer))
      expect(results).toHaveLength(5)
      expect(results.every(Result.isSuccess)).toBe(true)
      const revoked = metrics.keys.find((k) => k.key === "…dead")!
      expect(revoked.state).toBe("disabled")
      expect(revoked.disabledReason).toContain("401")
      expect(revoked.failures).toBeGreaterThanOrEqual(1)
      // Concurrent samples may have been in flight on the key when the first 401 arrived, but none after.
      expect(fake.requests.filter((r) => r.apiKey === "sk-revoked-secret-dead").length).toBe(revoked.requests)
      expect(metrics.keys.find((k) => k.key === "…beef")!.successes).toBe(15)
      const warning = logs.lines.find((l) => l.includes("rejected"))
      expect(warning).toContain("…dead")
      expect(logs.lines.join("\n")).not.toContain("sk-revoked-secret")
    })
  )

  it.live("fails with AllKeysUnavailable when every key is revoked", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ revokedKeys: ["sk-x-1111", "sk-y-2222"] })
      const { results, metrics } = yield* scoreWith(fastConfig(fake, ["sk-x-1111", "sk-y-2222"]), [answer], 1)
      const [result] = results
      expect(result !== undefined && Result.isFailure(result) && result.failure._tag).toBe("AllKeysUnavailable")
      if (result !== undefined && Result.isFailure(result)) {
        expect(result.failure.message).toContain("all 2 OpenAI API keys were rejected")
      }
      expect(metrics.keys.every((k) => k.state === "disabled")).toBe(true)
      expect(metrics.unavailable).toBe(1)
    })
  )

  it.live("honours Retry-After on a 429, cools the key down and then succeeds", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({
        script: [{ kind: "status", status: 429, headers: { "retry-after": "0.5" }, code: "rate_limit_exceeded" }]
      })
      const { results, metrics } = yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)
      expect(results.every(Result.isSuccess)).toBe(true)
      expect(fake.requests).toHaveLength(2)
      expect(metrics.keys[0]).toMatchObject({ rateLimited: 1, failures: 1, successes: 1 })
      expect(metrics.waits).toBe(1)
    })
  )

  it.live("moves to another key while the rate-limited one cools down", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({
        script: [{ kind: "status", status: 429, headers: { "retry-after": "30" } }]
      })
      const { results, metrics } = yield* scoreWith(fastConfig(fake, ["sk-a-aaaa", "sk-b-bbbb"]), [answer], 1)
      expect(results.every(Result.isSuccess)).toBe(true)
      expect(fake.requests.map((r) => r.apiKey)).toEqual(["sk-a-aaaa", "sk-b-bbbb"])
      expect(metrics.keys[0]!.state).toBe("cooling")
      expect(metrics.keys[0]!.cooldownRemainingMs).toBeGreaterThan(20_000)
      expect(metrics.waits).toBe(0)
    })
  )

  it.live("fails with AllKeysUnavailable (not a dropped answer) when every key cools past the deadline", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({
        respond: () => ({ kind: "status", status: 429, headers: { "retry-after": "60" } })
      })
      const config = fastConfig(fake, ["sk-a-aaaa", "sk-b-bbbb"], { perAnswerDeadlineMs: 1_000 })
      const { results } = yield* scoreWith(config, [answer], 1)
      const [result] = results
      if (result === undefined || Result.isSuccess(result)) throw new Error("expected a failure")
      expect(result.failure._tag).toBe("AllKeysUnavailable")
      if (result.failure._tag === "AllKeysUnavailable") {
        expect(result.failure.retryAfterMs).toBeGreaterThan(50_000)
        expect(result.failure.message).toContain("cooling down")
      }
      expect(fake.requests).toHaveLength(2)
    })
  )

  it.live("escalates the cooldown of a key that keeps getting 429 without Retry-After", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({
        script: [
          { kind: "status", status: 429 },
          { kind: "status", status: 429 },
          { kind: "status", status: 429 }
        ]
      })
      const { results, metrics } = yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)
      expect(results.every(Result.isSuccess)).toBe(true)
      expect(metrics.keys[0]).toMatchObject({ rateLimited: 3, successes: 1 })
      expect(metrics.waits).toBe(3)
    })
  )

  it.live("counts one wait per cooldown even when the timer wakes before the cooldown ends", () =>
    Effect.gen(function* () {
      const live = yield* Clock.Clock
      // Every sleep ends 3 ms early, as a timer on a loaded event loop may: the pool must sleep the rest.
      const early: Clock.Clock = {
        currentTimeMillisUnsafe: () => live.currentTimeMillisUnsafe(),
        currentTimeMillis: live.currentTimeMillis,
        currentTimeNanosUnsafe: () => live.currentTimeNanosUnsafe(),
        currentTimeNanos: live.currentTimeNanos,
        monotonicTimeNanosUnsafe: () => live.monotonicTimeNanosUnsafe(),
        monotonicTimeNanos: live.monotonicTimeNanos,
        sleep: (d) => live.sleep(Duration.millis(Math.max(0, Duration.toMillis(d) - 3)))
      }
      const fake = yield* fakeOpenAi({
        script: [
          { kind: "status", status: 429 },
          { kind: "status", status: 429 }
        ]
      })
      const { results, metrics } = yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1).pipe(
        Effect.provideService(Clock.Clock, early)
      )
      expect(results.every(Result.isSuccess)).toBe(true)
      expect(metrics.keys[0]).toMatchObject({ rateLimited: 2, successes: 1 })
      expect(metrics.waits).toBe(2)
    })
  )

  it.live("retries a 500 and then succeeds", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ script: [{ kind: "status", status: 500 }] })
      const { results, metrics } = yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)
      expect(results.every(Result.isSuccess)).toBe(true)
      expect(fake.requests).toHaveLength(2)
      expect(metrics.keys[0]).toMatchObject({ requests: 2, failures: 1, successes: 1, state: "active" })
    })
  )

  it.live("gives up on persistent 5xx after maxRetries with a typed error", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ respond: () => ({ kind: "status", status: 503 }) })
      const { results } = yield* scoreWith(fastConfig(fake, ["sk-one-1111"], { maxRetries: 2 }), [answer], 1)
      const [result] = results
      if (result === undefined || Result.isSuccess(result)) throw new Error("expected a failure")
      expect(result.failure._tag).toBe("OpenAiRequestFailed")
      expect(result.failure.message).toContain("HTTP 503")
      expect(fake.requests).toHaveLength(3)
    })
  )

  it.live("times out a request that never answers and retries it", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ script: [{ kind: "hang" }] })
      const { results, metrics } = yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)
      expect(results.every(Result.isSuccess)).toBe(true)
      expect(fake.requests).toHaveLength(2)
      expect(metrics.keys[0]!.failures).toBe(1)
    })
  )

  it.live("treats a reply slower than the request timeout like a timeout", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ script: [{ kind: "delay", ms: 2_000, reply: { kind: "grade" } }] })
      const { results } = yield* scoreWith(fastConfig(fake, ["sk-one-1111"]), [answer], 1)
      expect(results.every(Result.isSuccess)).toBe(true)
      expect(fake.requests).toHaveLength(2)
    })
  )

  it.live("stops at the per-answer deadline with DeadlineExceeded", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ respond: () => ({ kind: "hang" }) })
      const config = fastConfig(fake, ["sk-one-1111"], { perAnswerDeadlineMs: 700, maxRetries: 50 })
      const { results } = yield* scoreWith(config, [answer], 1)
      const [result] = results
      if (result === undefined || Result.isSuccess(result)) throw new Error("expected a failure")
      expect(result.failure._tag).toBe("DeadlineExceeded")
      expect(result.failure.message).toContain("timed out")
    })
  )

  it.live("parks a key whose quota is exhausted for the longest cooldown", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ script: [{ kind: "status", status: 429, code: "insufficient_quota" }] })
      const config = fastConfig(fake, ["sk-a-aaaa", "sk-b-bbbb"], { backoffMaxMs: 60_000 })
      const { results, metrics } = yield* scoreWith(config, [answer], 1)
      expect(results.every(Result.isSuccess)).toBe(true)
      expect(metrics.keys[0]!.state).toBe("cooling")
      expect(metrics.keys[0]!.cooldownRemainingMs).toBeGreaterThan(30_000)
    })
  )

  it.live("renders its counters for Prometheus with key suffixes only", () =>
    Effect.gen(function* () {
      const fake = yield* fakeOpenAi({ revokedKeys: ["sk-secret-dead"] })
      const { metrics } = yield* scoreWith(fastConfig(fake, ["sk-secret-dead", "sk-secret-beef"]), [answer], 2)
      const registry = makeMetrics()
      sampleKeyPool(registry, () => metrics)
      const text = registry.render()
      expect(readExposition(text).problems).toEqual([])
      expect(text).toContain('candor_openai_key_state{key="…dead",state="disabled"} 1')
      expect(text).toContain('candor_openai_key_state{key="…beef",state="active"} 1')
      expect(text).toContain('candor_openai_requests_total{key="…beef"} 2')
      expect(text).toContain("# TYPE candor_openai_failures_total counter")
      expect(text).toContain("candor_openai_pool_unavailable_total 0")
      expect(text).not.toContain("sk-secret")
    })
  )
})
