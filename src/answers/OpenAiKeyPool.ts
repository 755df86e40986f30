/**
 * A pool of OpenAI API keys shared by answer scoring and transcription.
 *
 * Rate limits apply per organisation rather than per key, so the pool exists
 * for failover, not for multiplying throughput: requests go round-robin over
 * usable keys; a 401/403 disables a key for the life of the process; a 429
 * cools the key down (honouring `Retry-After`, growing exponentially with
 * jitter on repeats); 5xx replies, timeouts and connection errors are retried
 * with backoff on the next key. Everything stops at the caller's deadline, and
 * when no key can serve before it, the call fails with `AllKeysUnavailable`
 * instead of dropping the work. The SDK's own retries are off so that the
 * pool alone decides rotation.
 */
import { Clock, Context, Effect, Layer, Metric, Random, Redacted } from "effect"
import type { APIError, default as OpenAI } from "openai"
import { type MetricsShape, sampleAll } from "../Metrics.ts"
import { AllKeysUnavailable, DeadlineExceeded, type OpenAiCallError, OpenAiRequestFailed } from "./AnswerErrors.ts"
import type { AnswersConfig } from "./AnswersConfig.ts"
import { backoffMs, classifyStatus, keySuffix, retryAfterMs } from "./internal/retryPolicy.ts"

export type KeyState = "active" | "cooling" | "disabled"

/** Counters of one key, identified only by its last characters. */
export interface KeyMetrics {
  readonly key: string
  readonly state: KeyState
  readonly requests: number
  readonly successes: number
  readonly failures: number
  readonly rateLimited: number
  readonly cooldownRemainingMs: number
  readonly disabledReason?: string
}

export interface KeyPoolMetrics {
  readonly keys: ReadonlyArray<KeyMetrics>
  /** Times a call waited because every usable key was cooling down. */
  readonly waits: number
  /** Calls that failed with `AllKeysUnavailable`. */
  readonly unavailable: number
}

/** What a request receives: pass both straight into the SDK method's request options. */
export interface RequestOptions {
  readonly signal: AbortSignal
  readonly timeout: number
}

export interface OpenAiKeyPoolShape {
  /** Number of configured keys (disabled ones included). */
  readonly size: number
  /**
   * Runs `request` with a pooled client until it succeeds, fails for good, or
   * `deadline` (epoch ms) passes. `timeoutMs` overrides the configured
   * per-request timeout (long audio uploads need more).
   */
  readonly call: <A>(
    operation: string,
    request: (client: OpenAI, options: RequestOptions) => PromiseLike<A>,
    deadline: number,
    timeoutMs?: number
  ) => Effect.Effect<A, OpenAiCallError>
  readonly metrics: Effect.Effect<KeyPoolMetrics>
  /** The same counters read synchronously against the wall clock (for `/metrics` scrapes). */
  readonly snapshot: () => KeyPoolMetrics
}

interface KeyEntry {
  readonly suffix: string
  readonly client: OpenAI
  disabledReason: string | undefined
  coolingUntil: number
  strikes: number
  requests: number
  successes: number
  failures: number
  rateLimited: number
}

type PoolSettings = Pick<
  AnswersConfig,
  "apiKeys" | "baseUrl" | "requestTimeoutMs" | "cooldownMs" | "maxRetries" | "backoffBaseMs" | "backoffMaxMs"
>

type Sdk = typeof import("openai")

/**
 * Builds a pool; with no keys every call fails with `AllKeysUnavailable`. The SDK is loaded only for a pool with
 * keys: an engine without them never needs it.
 */
export const make = (settings: PoolSettings): Effect.Effect<OpenAiKeyPoolShape> =>
  Effect.flatMap(
    settings.apiKeys.length === 0 ? Effect.succeed(undefined) : Effect.promise((): Promise<Sdk> => import("openai")),
    (sdk) => makeWith(settings, sdk)
  )

const makeWith = (settings: PoolSettings, sdk: Sdk | undefined): Effect.Effect<OpenAiKeyPoolShape> =>
  Effect.sync(() => {
    const isApiError = (error: unknown): error is APIError => sdk !== undefined && error instanceof sdk.APIError
    const describe = (error: unknown): string => {
      if (isApiError(error)) return error.status === undefined ? error.message : `HTTP ${error.status}`
      return error instanceof Error ? error.message : String(error)
    }
    const seen = new Map<string, number>()
    const entries: Array<KeyEntry> = settings.apiKeys.map((secret) => {
      const base = keySuffix(Redacted.value(secret))
      const n = (seen.get(base) ?? 0) + 1
      seen.set(base, n)
      return {
        suffix: n === 1 ? base : `${base}#${n}`,
        client: new sdk!.default({
          apiKey: Redacted.value(secret),
          baseURL: settings.baseUrl ?? null,
          maxRetries: 0,
          timeout: settings.requestTimeoutMs
        }),
        disabledReason: undefined,
        coolingUntil: 0,
        strikes: 0,
        requests: 0,
        successes: 0,
        failures: 0,
        rateLimited: 0
      }
    })
    let cursor = 0
    let waits = 0
    let unavailable = 0

    const pick = (now: number): KeyEntry | undefined => {
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[(cursor + i) % entries.length]!
        if (entry.disabledReason === undefined && entry.coolingUntil <= now) {
          cursor = (cursor + i + 1) % entries.length
          return entry
        }
      }
      return undefined
    }

    const unavailableError = (now: number): AllKeysUnavailable => {
      unavailable++
      const usable = entries.filter((e) => e.disabledReason === undefined)
      const firstFree = usable.length === 0 ? undefined : Math.min(...usable.map((e) => e.coolingUntil))
      return new AllKeysUnavailable({
        keys: entries.length,
        disabled: entries.length - usable.length,
        ...(firstFree === undefined ? {} : { retryAfterMs: Math.max(0, firstFree - now) })
      })
    }

    const call = <A>(
      operation: string,
      request: (client: OpenAI, options: RequestOptions) => PromiseLike<A>,
      deadline: number,
      timeoutMs: number = settings.requestTimeoutMs
    ): Effect.Effect<A, OpenAiCallError> =>
      Effect.gen(function* () {
        const budgetMs = Math.max(0, deadline - (yield* Clock.currentTimeMillis))
        let attempts = 0
        let transientRetries = 0
        let lastError = "none"
        let waitedUntil = -1
        while (true) {
          const now = yield* Clock.currentTimeMillis
          if (now >= deadline) {
            return yield* new DeadlineExceeded({ budgetMs, attempts, lastError })
          }
          const entry = pick(now)
          if (entry === undefined) {
            const usable = entries.filter((e) => e.disabledReason === undefined)
            const firstFree = Math.min(...usable.map((e) => e.coolingUntil))
            if (usable.length === 0 || firstFree >= deadline) return yield* unavailableError(now)
            // A timer may fire a millisecond before the clock reaches its time: sleeping the rest is the same wait.
            if (firstFree !== waitedUntil) waits++
            waitedUntil = firstFree
            yield* Effect.sleep(firstFree - now)
            continue
          }
          attempts++
          entry.requests++
          const timeout = Math.max(1, Math.min(timeoutMs, deadline - now))
          const outcome = yield* Effect.result(
            Effect.tryPromise({ try: (signal) => request(entry.client, { signal, timeout }), catch: (e) => e })
          )
          if (outcome._tag === "Success") {
            entry.successes++
            entry.strikes = 0
            return outcome.success
          }
          const error = outcome.failure
          entry.failures++
          lastError = describe(error)
          const status = isApiError(error) ? error.status : undefined
          // Anything that is not an API error reply (unreadable body, socket reset) is treated as transient.
          const kind = isApiError(error) ? classifyStatus(status) : "transient"
          const after = yield* Clock.currentTimeMillis
          switch (kind) {
            case "revoked": {
              entry.disabledReason = `HTTP ${status} during ${operation}`
              yield* Effect.logWarning(
                `OpenAI key ${entry.suffix} was rejected (HTTP ${status}); disabled for the rest of this process`
              )
              continue
            }
            case "rateLimited": {
              entry.rateLimited++
              entry.strikes++
              const asked = retryAfterMs(isApiError(error) ? error.headers : undefined, after)
              const quotaGone = isApiError(error) && error.code === "insufficient_quota"
              const escalation =
                entry.strikes > 1 || asked === undefined
                  ? backoffMs(settings.cooldownMs, entry.strikes, settings.backoffMaxMs, yield* Random.next)
                  : 0
              const cooldown = quotaGone ? settings.backoffMaxMs : Math.max(asked ?? 0, escalation)
              entry.coolingUntil = after + cooldown
              yield* Effect.logDebug(`OpenAI key ${entry.suffix} rate limited; cooling down for ${cooldown} ms`)
              continue
            }
            case "transient": {
              transientRetries++
              if (transientRetries > settings.maxRetries) {
                return yield* new OpenAiRequestFailed({
                  ...(status === undefined ? {} : { status }),
                  attempts,
                  reason: `${lastError}; retries exhausted`
                })
              }
              const delay = backoffMs(
                settings.backoffBaseMs,
                transientRetries,
                settings.backoffMaxMs,
                yield* Random.next
              )
              if (after + delay >= deadline) {
                return yield* new DeadlineExceeded({ budgetMs, attempts, lastError })
              }
              yield* Effect.sleep(delay)
              continue
            }
            case "fatal":
              return yield* new OpenAiRequestFailed({
                ...(status === undefined ? {} : { status }),
                attempts,
                reason: lastError
              })
          }
        }
      }).pipe(Effect.withSpan(`OpenAiKeyPool.${operation}`))

    const snapshotAt = (now: number): KeyPoolMetrics => ({
      keys: entries.map((e): KeyMetrics => {
        const state: KeyState =
          e.disabledReason !== undefined ? "disabled" : e.coolingUntil > now ? "cooling" : "active"
        return {
          key: e.suffix,
          state,
          requests: e.requests,
          successes: e.successes,
          failures: e.failures,
          rateLimited: e.rateLimited,
          cooldownRemainingMs: state === "cooling" ? e.coolingUntil - now : 0,
          ...(e.disabledReason === undefined ? {} : { disabledReason: e.disabledReason })
        }
      }),
      waits,
      unavailable
    })

    return {
      size: entries.length,
      call,
      metrics: Effect.map(Clock.currentTimeMillis, snapshotAt),
      snapshot: () => snapshotAt(Date.now())
    }
  })

const states: ReadonlyArray<KeyState> = ["active", "cooling", "disabled"]

const perKey = (name: string, description: string) => (key: string) =>
  Metric.counter(name, { description, attributes: { key }, incremental: true })
const requestsTotal = perKey("candor_openai_requests_total", "OpenAI API requests per key.")
const failuresTotal = perKey("candor_openai_failures_total", "Failed OpenAI API requests per key.")
const rateLimitedTotal = perKey("candor_openai_rate_limited_total", "HTTP 429 replies per key.")
const keyState = (key: string, state: KeyState) =>
  Metric.gauge("candor_openai_key_state", {
    description: "1 for the current state of each key (active, cooling, disabled).",
    attributes: { key, state }
  })
const waitsTotal = Metric.counter("candor_openai_pool_waits_total", {
  description: "Times a call waited for a cooling key.",
  incremental: true
})
const unavailableTotal = Metric.counter("candor_openai_pool_unavailable_total", {
  description: "Calls failed with AllKeysUnavailable.",
  incremental: true
})

/**
 * Puts the pool's counters on `metrics`, read from `read` at each scrape; keys are labelled by their suffix only.
 * Returns their removal.
 */
export const sampleKeyPool = (metrics: MetricsShape, read: () => KeyPoolMetrics): (() => void) => {
  const keyOf = (suffix: string) => read().keys.find((k) => k.key === suffix)
  const keys = read().keys.map((k) => k.key)
  const each = (series: (key: string) => Metric.Counter<number>, pick: (k: KeyMetrics) => number) =>
    keys.map((key) => [series(key), () => pick(keyOf(key)!)] as const)
  return sampleAll(metrics, [
    ...each(requestsTotal, (k) => k.requests),
    ...each(failuresTotal, (k) => k.failures),
    ...each(rateLimitedTotal, (k) => k.rateLimited),
    ...keys.flatMap((key) => states.map((s) => [keyState(key, s), () => (keyOf(key)!.state === s ? 1 : 0)] as const)),
    [waitsTotal, () => read().waits],
    [unavailableTotal, () => read().unavailable]
  ])
}

/** The key pool of this process. */
export class OpenAiKeyPool extends Context.Service<OpenAiKeyPool, OpenAiKeyPoolShape>()(
  "candor/answers/OpenAiKeyPool"
) {
  static readonly layer = (settings: PoolSettings): Layer.Layer<OpenAiKeyPool> =>
    Layer.effect(OpenAiKeyPool, make(settings))
}
