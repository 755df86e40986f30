/**
 * People signing in as themselves: set a password with a one-time link, sign in (a session token, also set as an
 * HttpOnly cookie), sign out, and who the credentials act for. Sign-in failures are counted per email address,
 * whether an account has it or not: each failure is answered later than the last, and the fifth in a row locks
 * the address for a while (429 with Retry-After), the same for every address.
 */
import { Duration, Effect, Option } from "effect"
import { Me, type PasswordSignIn, Session, SetPasswordRequest, SignInRequest } from "../../../schemas/Accounts.ts"
import { ErrorBody } from "../../../schemas/Api.ts"
import { dummyHash, hashPassword, verifyPassword } from "../../accounts/Passwords.ts"
import { AppConfig } from "../../config.ts"
import { AuditLog } from "../../store/AuditLog.ts"
import { Tenants } from "../../store/Tenants.ts"
import { Users } from "../../store/Users.ts"
import { csrfTokenFor, SESSION_COOKIE, sessionCookie } from "../ConsoleAuth.ts"
import { ApiError } from "../ApiError.ts"
import { bearerToken, json, type Reply, route } from "../Route.ts"
import { HttpServer } from "../Server.ts"

export { SESSION_COOKIE }
/** Failures in a row that lock an address. */
export const LOCK_AFTER = 5
/** The first failure is answered after this; each next one after twice as long (at most 5 s). */
const FAILURE_DELAY_MS = 200

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

const tooManyAttempts = (seconds: number): Reply => ({
  status: 429,
  json: {
    error: { code: "too_many_attempts", message: "too many failed sign-ins for this address; try again later" }
  },
  headers: { "retry-after": String(Math.max(1, Math.ceil(seconds))) }
})

const cookie = (value: string, maxAge: number, secure: boolean) =>
  `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`

const isHttps = (url: string) => url.toLowerCase().startsWith("https:")

const signedIn = (
  json: Record<string, unknown> & { readonly expiresAt: string },
  sessionToken: string,
  ttlSeconds: number
) =>
  Effect.map(
    HttpServer,
    (server): Reply => ({
      status: 201,
      json: { ...json, csrfToken: csrfTokenFor(sessionToken) },
      headers: { "set-cookie": cookie(sessionToken, ttlSeconds, isHttps(server.publicUrl)) }
    })
  )

/** A person with email and password; failures counted and slowed per address. */
const passwordSignIn = (body: typeof PasswordSignIn.Type) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const users = yield* Users
    const key = body.email.trim().toLowerCase()
    const before = yield* users.failures(key).pipe(Effect.mapError(dbUnavailable))
    if (before.lockedSeconds > 0) return tooManyAttempts(before.lockedSeconds)
    const candidates = yield* users.signInCandidates(key, body.tenantId).pipe(Effect.mapError(dbUnavailable))
    // An address in several tenants needs its tenant; without it, it is treated as unknown.
    const user = candidates.length === 1 ? candidates[0] : undefined
    // An unknown address costs the same hashing as a known one.
    const stored = user?.passwordHash ?? (yield* Effect.orDie(dummyHash))
    const ok = yield* verifyPassword(body.password, stored)
    if (!ok || user === undefined) {
      const after = yield* users
        .recordFailure(key, LOCK_AFTER, config.signInLockSeconds)
        .pipe(Effect.mapError(dbUnavailable))
      if (after.lockedSeconds > 0) return tooManyAttempts(after.lockedSeconds)
      yield* Effect.sleep(Duration.millis(Math.min(5000, FAILURE_DELAY_MS * 2 ** (after.count - 1))))
      return yield* Effect.fail(ApiError.unauthorized("wrong email or password"))
    }
    yield* users.clearFailures(key).pipe(Effect.mapError(dbUnavailable))
    const session = yield* users.createSession(user.id, config.sessionTtlSeconds).pipe(Effect.mapError(dbUnavailable))
    yield* Effect.flatMap(AuditLog, (a) =>
      a.record({ tenantId: user.tenantId, actor: `user:${user.id}`, action: "session.create", subject: user.id })
    ).pipe(Effect.mapError(dbUnavailable))
    return yield* signedIn(
      {
        token: session.token,
        expiresAt: session.expiresAt,
        userId: user.id,
        tenantId: user.tenantId,
        role: user.role
      },
      session.token,
      config.sessionTtlSeconds
    )
  })

/**
 * A browser console signing in with an API key: it gets a session cookie acting as the key (the key is not kept in
 * the browser, and revoking the key ends the session). Keys are 192-bit secrets: no counting of failures is needed.
 */
const keySignIn = (apiKey: string) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const principal = yield* Effect.flatMap(Tenants, (t) => t.authenticate(apiKey.trim())).pipe(
      Effect.mapError(dbUnavailable)
    )
    if (Option.isNone(principal)) return yield* Effect.fail(ApiError.unauthorized("unknown or revoked API key"))
    const { keyId, tenantId, role } = principal.value
    const session = yield* Effect.flatMap(Users, (u) => u.createKeySession(keyId, config.sessionTtlSeconds)).pipe(
      Effect.mapError(dbUnavailable)
    )
    yield* Effect.flatMap(AuditLog, (a) =>
      a.record({ tenantId, actor: `key:${keyId}`, action: "session.create", subject: keyId })
    ).pipe(Effect.mapError(dbUnavailable))
    return yield* signedIn(
      { expiresAt: session.expiresAt, keyId, tenantId, role },
      session.token,
      config.sessionTtlSeconds
    )
  })

export const sessionRoutes = [
  route({
    method: "post",
    path: "/v1/users/password",
    operationId: "setPassword",
    summary: "Set a password with the token of an invite or reset link (once; every session of the user ends)",
    tags: ["accounts"],
    access: "public",
    body: SetPasswordRequest,
    responses: { 204: { description: "Password set" } },
    handle: ({ body }) =>
      Effect.gen(function* () {
        const hash = yield* hashPassword(body.password).pipe(Effect.orDie)
        const user = yield* Effect.flatMap(Users, (u) => u.redeem(body.token, hash)).pipe(
          Effect.mapError(dbUnavailable)
        )
        if (Option.isNone(user))
          return yield* Effect.fail(
            ApiError.badRequest("the link is not valid: used, expired or unknown", "invalid_token")
          )
        yield* Effect.flatMap(AuditLog, (a) =>
          a.record({
            tenantId: user.value.tenantId,
            actor: `user:${user.value.id}`,
            action: "user.password_set",
            subject: user.value.id
          })
        ).pipe(Effect.mapError(dbUnavailable))
        return { status: 204 }
      })
  }),
  route({
    method: "post",
    path: "/v1/sessions",
    operationId: "signIn",
    summary:
      "Sign in with email and password (a session token and an HttpOnly cookie), or with an API key (the cookie only, for browsers)",
    tags: ["accounts"],
    access: "public",
    body: SignInRequest,
    responses: {
      201: { description: "Signed in", schema: Session },
      401: { description: "Wrong email or password, or an unknown API key", schema: ErrorBody },
      429: { description: "Too many failed sign-ins for this address: wait Retry-After seconds", schema: ErrorBody }
    },
    handle: ({ body }) => ("apiKey" in body ? keySignIn(body.apiKey) : passwordSignIn(body))
  }),
  route({
    method: "delete",
    path: "/v1/sessions",
    operationId: "signOut",
    summary: "Sign out: the session of this token (or cookie) ends",
    tags: ["accounts"],
    access: "apiKey",
    // Anyone signed in may sign out, a reader too.
    role: "reader",
    responses: { 204: { description: "Signed out" } },
    handle: ({ principal }) =>
      Effect.gen(function* () {
        if (!("sessionId" in principal))
          return yield* Effect.fail(ApiError.badRequest("an API key has no session; revoke the key instead"))
        yield* Effect.flatMap(Users, (u) => u.revokeSession(principal.sessionId)).pipe(Effect.mapError(dbUnavailable))
        yield* Effect.flatMap(AuditLog, (a) =>
          a.record({
            tenantId: principal.tenantId,
            actor: principal.actor,
            action: "session.revoke",
            subject: "userId" in principal ? principal.userId : principal.keyId
          })
        ).pipe(Effect.mapError(dbUnavailable))
        const server = yield* HttpServer
        return { status: 204, headers: { "set-cookie": cookie("", 0, isHttps(server.publicUrl)) } }
      })
  }),
  route({
    method: "get",
    path: "/v1/me",
    operationId: "whoAmI",
    summary: "Who these credentials act for: tenant, role and the actor named in audit rows",
    tags: ["accounts"],
    access: "apiKey",
    responses: { 200: { description: "The caller", schema: Me } },
    handle: ({ principal, headers }) => {
      // Called with the cookie (no Authorization header): the console learns the CSRF token its changes need.
      const cookie = bearerToken(headers).length === 0 ? sessionCookie(headers) : ""
      return Effect.succeed(
        json(200, {
          tenantId: principal.tenantId,
          role: principal.role,
          actor: principal.actor,
          ...("userId" in principal ? { userId: principal.userId } : { keyId: principal.keyId }),
          ...("sessionId" in principal ? { expiresAt: principal.expiresAt } : {}),
          ...(cookie.length > 0 ? { csrfToken: csrfTokenFor(cookie) } : {})
        })
      )
    }
  })
]
