/**
 * People signing in as themselves: set a password with a one-time link, sign in (a session token, also set as an
 * HttpOnly cookie), sign out, and who the credentials act for. Sign-in failures are counted per email address,
 * whether an account has it or not: each failure is answered later than the last, and the fifth in a row locks
 * the address for a while (429 with Retry-After), the same for every address.
 */
import { Duration, Effect, Option } from "effect"
import { Me, Session, SetPasswordRequest, SignInRequest } from "../../../schemas/Accounts.ts"
import { ErrorBody } from "../../../schemas/Api.ts"
import { dummyHash, hashPassword, verifyPassword } from "../../accounts/Passwords.ts"
import { AppConfig } from "../../config.ts"
import { AuditLog } from "../../store/AuditLog.ts"
import { Users } from "../../store/Users.ts"
import { ApiError } from "../ApiError.ts"
import { json, type Reply, route } from "../Route.ts"
import { HttpServer } from "../Server.ts"

/** The cookie a browser console signs in with; the server reads it when no `Authorization` header is sent. */
export const SESSION_COOKIE = "candor_session"
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
    summary: "Sign in with email and password: a session token (and an HttpOnly cookie)",
    tags: ["accounts"],
    access: "public",
    body: SignInRequest,
    responses: {
      201: { description: "Signed in", schema: Session },
      401: { description: "Wrong email or password", schema: ErrorBody },
      429: { description: "Too many failed sign-ins for this address: wait Retry-After seconds", schema: ErrorBody }
    },
    handle: ({ body }) =>
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
        const session = yield* users
          .createSession(user.id, config.sessionTtlSeconds)
          .pipe(Effect.mapError(dbUnavailable))
        yield* Effect.flatMap(AuditLog, (a) =>
          a.record({ tenantId: user.tenantId, actor: `user:${user.id}`, action: "session.create", subject: user.id })
        ).pipe(Effect.mapError(dbUnavailable))
        const server = yield* HttpServer
        return {
          status: 201,
          json: {
            token: session.token,
            expiresAt: session.expiresAt,
            userId: user.id,
            tenantId: user.tenantId,
            role: user.role
          },
          headers: { "set-cookie": cookie(session.token, config.sessionTtlSeconds, isHttps(server.publicUrl)) }
        }
      })
  }),
  route({
    method: "delete",
    path: "/v1/sessions",
    operationId: "signOut",
    summary: "Sign out: the session of this token (or cookie) ends",
    tags: ["accounts"],
    access: "apiKey",
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
            subject: principal.userId
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
    handle: ({ principal }) =>
      Effect.succeed(
        json(200, {
          tenantId: principal.tenantId,
          role: principal.role,
          actor: principal.actor,
          ...("sessionId" in principal
            ? { userId: principal.userId, expiresAt: principal.expiresAt }
            : { keyId: principal.keyId })
        })
      )
  })
]
