/**
 * Password hashing with scrypt (memory-hard, Node's built-in): N=2^15, r=8, p=1 and a random 16-byte salt. The
 * parameters are stored with the hash (`scrypt$N$r$p$salt$hash`), so they can be raised later without breaking
 * stored hashes; a hash is compared in constant time.
 */
import { Effect } from "effect"
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto"

export const MIN_PASSWORD_LENGTH = 12
export const MAX_PASSWORD_LENGTH = 1024

const N = 2 ** 15
const R = 8
const P = 1
const KEY_LENGTH = 32

const derive = (password: string, salt: Buffer, n: number, r: number, p: number, length: number) =>
  Effect.callback<Buffer, Error>((resume) => {
    // scrypt needs 128 * N * r bytes; the default cap (32 MiB) is exactly that for these parameters, so raise it.
    scrypt(password.normalize("NFKC"), salt, length, { N: n, r, p, maxmem: 256 * n * r }, (error, key) =>
      resume(error === null ? Effect.succeed(key) : Effect.fail(error))
    )
  })

/** `scrypt$N$r$p$salt$hash` (salt and hash in base64url). */
export const hashPassword = (password: string): Effect.Effect<string, Error> =>
  Effect.suspend(() => {
    const salt = randomBytes(16)
    return Effect.map(
      derive(password, salt, N, R, P, KEY_LENGTH),
      (key) => `scrypt$${N}$${R}$${P}$${salt.toString("base64url")}$${key.toString("base64url")}`
    )
  })

/** Whether `password` matches `stored`; a malformed stored hash matches nothing. */
export const verifyPassword = (password: string, stored: string): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    const parts = stored.split("$")
    if (parts.length !== 6 || parts[0] !== "scrypt") return Effect.succeed(false)
    const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
    if (![n, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || n > 2 ** 20) return Effect.succeed(false)
    const salt = Buffer.from(parts[4]!, "base64url")
    const expected = Buffer.from(parts[5]!, "base64url")
    if (expected.length === 0) return Effect.succeed(false)
    return derive(password, salt, n, r, p, expected.length).pipe(
      Effect.map((key) => timingSafeEqual(key, expected)),
      Effect.orElseSucceed(() => false)
    )
  })

/** A hash of a random password: verified against when no account matches, so that both take the same time. */
let dummy: string | undefined
export const dummyHash: Effect.Effect<string, Error> = Effect.suspend(() =>
  dummy === undefined
    ? Effect.tap(hashPassword(randomBytes(16).toString("hex")), (h) => Effect.sync(() => (dummy = h)))
    : Effect.succeed(dummy)
)
