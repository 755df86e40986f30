/**
 * How browsers authenticate: the console's session cookie (HttpOnly, SameSite=Strict), and a CSRF token that every
 * state-changing request sent with that cookie must carry in a header. The token is derived from the session's
 * secret, which page scripts cannot read (the cookie is HttpOnly): a page of another site can neither read it nor
 * set the header on a cross-site request without the server's consent (Candor answers no CORS preflight).
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { Effect, Option } from "effect"
import type { ApiKeyPrincipal, TenantsShape } from "../store/Tenants.ts"
import type { KeySessionPrincipal, UserPrincipal, UsersShape } from "../store/Users.ts"

/** The cookie a browser console signs in with; the server reads it when no `Authorization` header is sent. */
export const SESSION_COOKIE = "candor_session"

/** The header a cookie-authenticated POST, PUT, PATCH or DELETE must carry. */
export const CSRF_HEADER = "x-csrf-token"

/** The session cookie of the console, or "" when there is none. */
export const sessionCookie = (headers: Readonly<Record<string, string>>): string => {
  for (const part of (headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=")
    if (name === SESSION_COOKIE) return value.join("=")
  }
  return ""
}

/** The CSRF token of a session: the session's secret cannot be recovered from it. */
export const csrfTokenFor = (sessionToken: string): string =>
  createHash("sha256").update(`candor csrf\u0000${sessionToken}`).digest("base64url")

/** Whether `headers` carry the CSRF token of `sessionToken`. */
export const csrfMatches = (headers: Readonly<Record<string, string>>, sessionToken: string): boolean => {
  const sent = Buffer.from(headers[CSRF_HEADER] ?? "")
  const expected = Buffer.from(csrfTokenFor(sessionToken))
  return sent.length === expected.length && timingSafeEqual(sent, expected)
}

export type Credentialed = ApiKeyPrincipal | UserPrincipal | KeySessionPrincipal

/** An API key, else a session (a user's, or one opened with a key); looked up on every call, never cached. */
export const authenticateCredential = (
  tenants: TenantsShape,
  users: UsersShape,
  credential: string
): Effect.Effect<Option.Option<Credentialed>, unknown> =>
  tenants
    .authenticate(credential)
    .pipe(
      Effect.flatMap(
        (key): Effect.Effect<Option.Option<Credentialed>, unknown> =>
          Option.isSome(key) ? Effect.succeed(key) : users.authenticate(credential)
      )
    )
