/**
 * Recruiter accounts: users of a tenant, their one-time tokens (invite, reset), their sessions and the failed
 * sign-in counters. Tokens are random 256-bit secrets handed out once and stored as SHA-256 hashes, like API keys.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { randomBytes } from "node:crypto"
import { newId, toIso, toIsoOrNull } from "./Rows.ts"
import { type ApiKeyPrincipal, hashApiKey, type Principal, type Role } from "./Tenants.ts"

export interface User {
  readonly id: string
  readonly tenantId: string
  readonly email: string
  readonly role: Role
  /** `invited` until a password is set; `disabled` once an admin disabled the account. */
  readonly status: "invited" | "active" | "disabled"
  readonly createdAt: string
  readonly disabledAt: string | null
}

/** Who a session token belongs to. */
export interface UserPrincipal extends Principal {
  readonly userId: string
  readonly sessionId: string
  readonly expiresAt: string
}

/** A console session opened with an API key: it acts as the key (role, audit actor) and ends with it. */
export interface KeySessionPrincipal extends ApiKeyPrincipal {
  readonly sessionId: string
  readonly expiresAt: string
}

export interface SignInCandidate {
  readonly id: string
  readonly tenantId: string
  readonly role: Role
  readonly passwordHash: string
}

export interface OneTimeToken {
  readonly token: string
  readonly expiresAt: string
}

export interface FailureState {
  readonly count: number
  /** Seconds until the lock ends; 0 when not locked. */
  readonly lockedSeconds: number
}

export class UserExists extends Error {
  readonly _tag = "UserExists"
}

const TOKEN_PREFIX = "cnt_"
const SESSION_PREFIX = "cns_"
const KEY_SESSION_PREFIX = "cnk_"

const toUser = (r: any): User => ({
  id: r.id,
  tenantId: r.tenant_id,
  email: r.email,
  role: r.role,
  status: r.disabled_at !== null ? "disabled" : r.password_hash === null ? "invited" : "active",
  createdAt: toIso(r.created_at),
  disabledAt: toIsoOrNull(r.disabled_at)
})

const secret = (prefix: string) => prefix + randomBytes(32).toString("base64url")

export interface UsersShape {
  /** Creates an invited user (no password yet) and their invite token; fails when the email is taken. */
  readonly invite: (input: {
    readonly tenantId: string
    readonly email: string
    readonly role: Role
    readonly ttlSeconds: number
  }) => Effect.Effect<{ user: User } & OneTimeToken, SqlError | UserExists>
  /** A reset token for an enabled user of the tenant; none for anyone else. */
  readonly issueReset: (
    tenantId: string,
    userId: string,
    ttlSeconds: number
  ) => Effect.Effect<Option.Option<{ user: User } & OneTimeToken>, SqlError>
  /**
   * Spends a one-time token (unused, unexpired, of an enabled user) and sets the password; every session of the
   * user is revoked and the failed sign-ins of the address forgotten. None when the token is not good.
   */
  readonly redeem: (token: string, passwordHash: string) => Effect.Effect<Option.Option<User>, SqlError>
  /** Enabled users with a password and this email (in this tenant, when given). */
  readonly signInCandidates: (
    email: string,
    tenantId: string | undefined
  ) => Effect.Effect<ReadonlyArray<SignInCandidate>, SqlError>
  readonly failures: (emailKey: string) => Effect.Effect<FailureState, SqlError>
  /** Counts a failure; the `lockAfter`th in a row locks the address for `lockSeconds`. */
  readonly recordFailure: (
    emailKey: string,
    lockAfter: number,
    lockSeconds: number
  ) => Effect.Effect<FailureState, SqlError>
  readonly clearFailures: (emailKey: string) => Effect.Effect<void, SqlError>
  readonly createSession: (
    userId: string,
    ttlSeconds: number
  ) => Effect.Effect<{ id: string; token: string; expiresAt: string }, SqlError>
  /** A console session acting as an unrevoked API key (the key itself never reaches the browser). */
  readonly createKeySession: (
    keyId: string,
    ttlSeconds: number
  ) => Effect.Effect<{ id: string; token: string; expiresAt: string }, SqlError>
  /**
   * The principal of an unexpired, unrevoked session: of an enabled user, or of an API key that is not revoked.
   */
  readonly authenticate: (token: string) => Effect.Effect<Option.Option<UserPrincipal | KeySessionPrincipal>, SqlError>
  /** Ends a session, of a user or of a key. */
  readonly revokeSession: (sessionId: string) => Effect.Effect<void, SqlError>
  /** Disables the user and revokes their sessions at once; none when no such user is in the tenant. */
  readonly disable: (tenantId: string, userId: string) => Effect.Effect<Option.Option<User>, SqlError>
  readonly list: (tenantId: string) => Effect.Effect<ReadonlyArray<User>, SqlError>
}

export class Users extends Context.Service<Users, UsersShape>()("candor/Users") {
  static readonly layer = Layer.effect(
    Users,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const issueToken = (userId: string, kind: "invite" | "reset", ttlSeconds: number) =>
        Effect.gen(function* () {
          const token = secret(TOKEN_PREFIX)
          const rows = yield* sql`
            INSERT INTO user_tokens (token_hash, user_id, kind, expires_at)
            VALUES (${hashApiKey(token)}, ${userId}, ${kind}, now() + ${ttlSeconds}::int * interval '1 second')
            RETURNING expires_at`
          return { token, expiresAt: toIso((rows[0] as any).expires_at) }
        })

      return {
        invite: ({ tenantId, email, role, ttlSeconds }) =>
          Effect.gen(function* () {
            const rows = yield* sql`
              INSERT INTO users (id, tenant_id, email, role) VALUES (${newId()}, ${tenantId}, ${email}, ${role})
              ON CONFLICT DO NOTHING RETURNING *`
            if (rows.length === 0) return yield* Effect.fail(new UserExists(`${email} already has an account`))
            const user = toUser(rows[0])
            return { user, ...(yield* issueToken(user.id, "invite", ttlSeconds)) }
          }).pipe(sql.withTransaction, Effect.withSpan("Users.invite")),
        issueReset: (tenantId, userId, ttlSeconds) =>
          Effect.gen(function* () {
            const rows = yield* sql`
              SELECT * FROM users WHERE id = ${userId} AND tenant_id = ${tenantId} AND disabled_at IS NULL`
            if (rows.length === 0) return Option.none()
            const user = toUser(rows[0])
            return Option.some({ user, ...(yield* issueToken(user.id, "reset", ttlSeconds)) })
          }).pipe(sql.withTransaction, Effect.withSpan("Users.issueReset")),
        redeem: (token, passwordHash) =>
          Effect.gen(function* () {
            if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return Option.none()
            const spent = yield* sql`
              UPDATE user_tokens SET used_at = now()
              WHERE token_hash = ${hashApiKey(token)} AND used_at IS NULL AND expires_at > now()
                AND user_id IN (SELECT id FROM users WHERE disabled_at IS NULL)
              RETURNING user_id`
            if (spent.length === 0) return Option.none()
            const userId = (spent[0] as any).user_id as string
            const rows = yield* sql`UPDATE users SET password_hash = ${passwordHash} WHERE id = ${userId} RETURNING *`
            // Other links of this user die with this one.
            yield* sql`UPDATE user_tokens SET used_at = now() WHERE user_id = ${userId} AND used_at IS NULL`
            yield* sql`UPDATE user_sessions SET revoked_at = now() WHERE user_id = ${userId} AND revoked_at IS NULL`
            const user = toUser(rows[0])
            yield* sql`DELETE FROM sign_in_failures WHERE email_key = ${user.email.toLowerCase()}`
            return Option.some(user)
          }).pipe(sql.withTransaction, Effect.withSpan("Users.redeem")),
        signInCandidates: (email, tenantId) =>
          (tenantId === undefined
            ? sql`SELECT id, tenant_id, role, password_hash FROM users
                  WHERE lower(email) = ${email.toLowerCase()} AND disabled_at IS NULL AND password_hash IS NOT NULL`
            : sql`SELECT id, tenant_id, role, password_hash FROM users
                  WHERE lower(email) = ${email.toLowerCase()} AND tenant_id = ${tenantId}
                    AND disabled_at IS NULL AND password_hash IS NOT NULL`
          ).pipe(
            Effect.map((rows) =>
              rows.map((r: any) => ({ id: r.id, tenantId: r.tenant_id, role: r.role, passwordHash: r.password_hash }))
            ),
            Effect.withSpan("Users.signInCandidates")
          ),
        failures: (emailKey) =>
          sql`
            SELECT count, CASE WHEN locked_until IS NULL THEN 0
                               ELSE GREATEST(0, EXTRACT(EPOCH FROM (locked_until - now()))) END AS locked_seconds
            FROM sign_in_failures WHERE email_key = ${emailKey}`.pipe(Effect.map(toFailureState)),
        recordFailure: (emailKey, lockAfter, lockSeconds) =>
          sql`
            INSERT INTO sign_in_failures (email_key, count, last_failed_at, locked_until)
            VALUES (${emailKey}, 1, now(),
                    CASE WHEN ${lockAfter}::int <= 1 THEN now() + ${lockSeconds}::int * interval '1 second' END)
            ON CONFLICT (email_key) DO UPDATE SET
              count = CASE WHEN sign_in_failures.locked_until <= now() THEN 1 ELSE sign_in_failures.count + 1 END,
              last_failed_at = now(),
              locked_until = CASE
                WHEN (CASE WHEN sign_in_failures.locked_until <= now() THEN 1 ELSE sign_in_failures.count + 1 END)
                     >= ${lockAfter}::int
                THEN now() + ${lockSeconds}::int * interval '1 second' END
            RETURNING count, CASE WHEN locked_until IS NULL THEN 0
                                  ELSE EXTRACT(EPOCH FROM (locked_until - now())) END AS locked_seconds`.pipe(
            Effect.map(toFailureState),
            Effect.withSpan("Users.recordFailure")
          ),
        clearFailures: (emailKey) =>
          sql`DELETE FROM sign_in_failures WHERE email_key = ${emailKey}`.pipe(Effect.asVoid),
        createSession: (userId, ttlSeconds) =>
          Effect.gen(function* () {
            const token = secret(SESSION_PREFIX)
            const id = newId()
            const rows = yield* sql`
              INSERT INTO user_sessions (id, token_hash, user_id, expires_at)
              VALUES (${id}, ${hashApiKey(token)}, ${userId}, now() + ${ttlSeconds}::int * interval '1 second')
              RETURNING expires_at`
            return { id, token, expiresAt: toIso((rows[0] as any).expires_at) }
          }).pipe(Effect.withSpan("Users.createSession")),
        createKeySession: (keyId, ttlSeconds) =>
          Effect.gen(function* () {
            const token = secret(KEY_SESSION_PREFIX)
            const id = newId()
            const rows = yield* sql`
              INSERT INTO key_sessions (id, token_hash, key_id, expires_at)
              VALUES (${id}, ${hashApiKey(token)}, ${keyId}, now() + ${ttlSeconds}::int * interval '1 second')
              RETURNING expires_at`
            return { id, token, expiresAt: toIso((rows[0] as any).expires_at) }
          }).pipe(Effect.withSpan("Users.createKeySession")),
        authenticate: (token): Effect.Effect<Option.Option<UserPrincipal | KeySessionPrincipal>, SqlError> => {
          const first = <A>(rows: ReadonlyArray<unknown>, f: (r: any) => A) =>
            Option.map(Option.fromNullishOr(rows[0] as any), f)
          if (token.length >= 200) return Effect.succeed(Option.none())
          if (token.startsWith(SESSION_PREFIX))
            return sql`
              SELECT s.id AS session_id, s.expires_at, u.id AS user_id, u.tenant_id, u.role
              FROM user_sessions s JOIN users u ON u.id = s.user_id
              WHERE s.token_hash = ${hashApiKey(token)} AND s.revoked_at IS NULL AND s.expires_at > now()
                AND u.disabled_at IS NULL`.pipe(
              Effect.map((rows) =>
                first(
                  rows,
                  (r): UserPrincipal => ({
                    tenantId: r.tenant_id,
                    role: r.role,
                    actor: `user:${r.user_id}`,
                    userId: r.user_id,
                    sessionId: r.session_id,
                    expiresAt: toIso(r.expires_at)
                  })
                )
              ),
              Effect.withSpan("Users.authenticate")
            )
          if (token.startsWith(KEY_SESSION_PREFIX))
            return sql`
              SELECT s.id AS session_id, s.expires_at, k.id AS key_id, k.tenant_id, k.role
              FROM key_sessions s JOIN api_keys k ON k.id = s.key_id
              WHERE s.token_hash = ${hashApiKey(token)} AND s.revoked_at IS NULL AND s.expires_at > now()
                AND k.revoked_at IS NULL`.pipe(
              Effect.map((rows) =>
                first(
                  rows,
                  (r): KeySessionPrincipal => ({
                    tenantId: r.tenant_id,
                    role: r.role,
                    actor: `key:${r.key_id}`,
                    keyId: r.key_id,
                    sessionId: r.session_id,
                    expiresAt: toIso(r.expires_at)
                  })
                )
              ),
              Effect.withSpan("Users.authenticateKeySession")
            )
          return Effect.succeed(Option.none())
        },
        revokeSession: (sessionId) =>
          Effect.andThen(
            sql`UPDATE user_sessions SET revoked_at = now() WHERE id = ${sessionId} AND revoked_at IS NULL`,
            sql`UPDATE key_sessions SET revoked_at = now() WHERE id = ${sessionId} AND revoked_at IS NULL`
          ).pipe(Effect.asVoid),
        disable: (tenantId, userId) =>
          Effect.gen(function* () {
            const rows = yield* sql`
              UPDATE users SET disabled_at = COALESCE(disabled_at, now())
              WHERE id = ${userId} AND tenant_id = ${tenantId} RETURNING *`
            if (rows.length === 0) return Option.none()
            yield* sql`UPDATE user_sessions SET revoked_at = now() WHERE user_id = ${userId} AND revoked_at IS NULL`
            yield* sql`UPDATE user_tokens SET used_at = now() WHERE user_id = ${userId} AND used_at IS NULL`
            return Option.some(toUser(rows[0]))
          }).pipe(sql.withTransaction, Effect.withSpan("Users.disable")),
        list: (tenantId) =>
          sql`SELECT * FROM users WHERE tenant_id = ${tenantId} ORDER BY created_at, id`.pipe(
            Effect.map((rows) => rows.map(toUser))
          )
      }
    })
  )
}

const toFailureState = (rows: ReadonlyArray<any>): FailureState =>
  rows.length === 0
    ? { count: 0, lockedSeconds: 0 }
    : { count: Number(rows[0].count), lockedSeconds: Math.max(0, Number(rows[0].locked_seconds)) }
