/** Pure helpers of the key pool's retry policy. */

/**
 * Milliseconds a 429/503 reply asks us to wait: `retry-after-ms`, else
 * `retry-after` as delta-seconds or an HTTP date. Undefined when absent or unreadable.
 */
export const retryAfterMs = (headers: Headers | undefined, now: number): number | undefined => {
  if (headers === undefined) return undefined
  const ms = headers.get("retry-after-ms")
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms))
  const value = headers.get("retry-after")?.trim()
  if (value === undefined || value === "") return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Exponential delay for the `attempt`-th retry (1-based), capped, with ±25 % jitter from `random` in [0, 1). */
export const backoffMs = (baseMs: number, attempt: number, maxMs: number, random: number): number => {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(raw * (0.75 + random * 0.5))
}

/** How a failed API call is handled. */
export type FailureKind = "revoked" | "rateLimited" | "transient" | "fatal"

/** Classifies an HTTP status (undefined: no response, i.e. timeout or connection error). */
export const classifyStatus = (status: number | undefined): FailureKind => {
  if (status === undefined) return "transient"
  if (status === 401 || status === 403) return "revoked"
  if (status === 429) return "rateLimited"
  if (status === 408 || status === 409 || status >= 500) return "transient"
  return "fatal"
}

/** Display form of a secret: an ellipsis and at most its last four characters, never more than half of it. */
export const keySuffix = (key: string): string => `…${key.slice(-Math.min(4, Math.floor(key.length / 2)))}`
