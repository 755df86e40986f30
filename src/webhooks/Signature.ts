/**
 * The `Candor-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>`.
 * The timestamp is signed with the body so a receiver can refuse replays of old deliveries.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"

export const SIGNATURE_HEADER = "candor-signature"

/** A new webhook secret: `whsec_` and 32 random bytes; the whole string is the HMAC key. */
export const newSecret = (): string => `whsec_${randomBytes(32).toString("base64url")}`

const hmac = (secret: string, timestamp: number, body: string): string =>
  createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")

/** The header's value for `body` signed at `timestamp` (unix seconds). */
export const sign = (secret: string, timestamp: number, body: string): string =>
  `t=${timestamp},v1=${hmac(secret, timestamp, body)}`

/**
 * Whether `header` signs `body` with `secret`, no older (or newer) than `toleranceSeconds` at `nowSeconds`. What a
 * receiver does; used by the tests, and the README shows the same steps.
 */
export const verify = (
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300
): boolean => {
  const parts = new Map<string, Array<string>>()
  for (const item of header.split(",")) {
    const eq = item.indexOf("=")
    if (eq > 0)
      parts.set(item.slice(0, eq).trim(), [...(parts.get(item.slice(0, eq).trim()) ?? []), item.slice(eq + 1)])
  }
  const t = Number(parts.get("t")?.[0])
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false
  const expected = Buffer.from(hmac(secret, t, body), "hex")
  return (parts.get("v1") ?? []).some((v) => {
    const given = Buffer.from(v, "hex")
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}
