/**
 * Candidate join tokens: short JWTs (HS256) scoped to one interview of one tenant, with an expiry. The candidate
 * socket checks them before the WebSocket upgrade.
 */
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { jwtVerify, SignJWT } from "jose"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { AppConfig } from "../config.ts"

export interface JoinClaims {
  readonly interviewId: string
  readonly tenantId: string
  readonly expiresAt: Date
}

export interface JoinTokensShape {
  readonly issue: (interviewId: string, tenantId: string) => Effect.Effect<{ token: string; expiresAt: Date }>
  /** None for anything but a valid, unexpired token of ours. */
  readonly verify: (token: string) => Effect.Effect<Option.Option<JoinClaims>>
}

const AUDIENCE = "candor:candidate"

export const make = (secret: Uint8Array, ttlSeconds: number): JoinTokensShape => ({
  issue: (interviewId, tenantId) =>
    Effect.promise(async () => {
      const expiresAt = new Date(Math.floor(Date.now() / 1000 + ttlSeconds) * 1000)
      const token = await new SignJWT({ tid: tenantId })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(interviewId)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .sign(secret)
      return { token, expiresAt }
    }),
  verify: (token) =>
    Effect.promise(async () => {
      if (token.length === 0 || token.length > 4096) return Option.none()
      try {
        const { payload } = await jwtVerify(token, secret, { audience: AUDIENCE, algorithms: ["HS256"] })
        if (typeof payload.sub !== "string" || typeof payload.tid !== "string" || payload.exp === undefined) {
          return Option.none()
        }
        return Option.some({ interviewId: payload.sub, tenantId: payload.tid, expiresAt: new Date(payload.exp * 1000) })
      } catch {
        return Option.none()
      }
    })
})

/**
 * Without `TOKEN_SECRET`, a secret is generated once and kept (mode 0600) so tokens survive restarts. Two processes
 * sharing a data directory (two engines on one Postgres) must agree on it: the secret is written to a private file
 * and linked into place, which fails if another process got there first, and then everyone reads the one in place.
 */
export const loadOrCreateSecret = (dataDir: string): Uint8Array => {
  const file = Path.join(dataDir, "token-secret")
  if (!Fs.existsSync(file)) {
    Fs.mkdirSync(dataDir, { recursive: true })
    const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`
    Fs.writeFileSync(draft, randomBytes(32).toString("base64url"), { mode: 0o600 })
    try {
      Fs.linkSync(draft, file)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    } finally {
      Fs.rmSync(draft, { force: true })
    }
  }
  const secret = new Uint8Array(Buffer.from(Fs.readFileSync(file, "utf8").trim(), "base64url"))
  if (secret.length < 32)
    throw new Error(`${file}: expected a secret of at least 32 bytes (base64url); delete the file to get a new one`)
  return secret
}

export class JoinTokens extends Context.Service<JoinTokens, JoinTokensShape>()("candor/JoinTokens") {
  static readonly layer = Layer.effect(
    JoinTokens,
    Effect.map(AppConfig, (config) =>
      make(
        config.tokenSecret === undefined
          ? loadOrCreateSecret(config.dataDir)
          : new TextEncoder().encode(Redacted.value(config.tokenSecret)),
        config.joinTokenTtlSeconds
      )
    )
  )
}
