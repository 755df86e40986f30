/**
 * A route is data: method, path, the Schemas of its query, body and responses, and a handler. The server
 * validates requests with those Schemas and `/v1/openapi.json` is generated from the very same ones.
 */
import type { Effect, Schema } from "effect"
import type { ApiKeyPrincipal, Role } from "../store/Tenants.ts"
import type { KeySessionPrincipal, UserPrincipal } from "../store/Users.ts"
import type { ApiError } from "./ApiError.ts"

export type Method = "get" | "post" | "put" | "patch" | "delete"

/**
 * Who may call a route: a tenant's API key, anyone, the local operator (admin token from the data dir), or a
 * candidate with the interview's join token (checked by the handler against the interview in the path).
 */
export type Access = "apiKey" | "public" | "admin" | "candidate"

export type { Role }

/** Roles from least to most: each may do what the ones before it may. */
const roleRank: Readonly<Record<Role, number>> = { reader: 0, recruiter: 1, admin: 2 }

/** Whether a key with role `have` may call a route that needs `need`. */
export const roleAllows = (have: Role, need: Role): boolean => roleRank[have] >= roleRank[need]

export interface Reply {
  readonly status: number
  readonly json?: unknown
  readonly body?: string | Uint8Array
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
}

export interface RequestContext<Q, B> {
  readonly params: Readonly<Record<string, string>>
  readonly query: Q
  readonly body: B
  /** The body's bytes on `rawBody` routes (empty when none was sent); undefined elsewhere. */
  readonly raw: Uint8Array | undefined
  /** Set on `apiKey` routes: the API key, the signed-in person, or a console session opened with a key. */
  readonly principal: ApiKeyPrincipal | UserPrincipal | KeySessionPrincipal
  readonly headers: Readonly<Record<string, string>>
  /** The client's address as the server saw it (for audit rows). */
  readonly remote: string
}

/** Takes the body as bytes (uploads) instead of JSON. */
export interface RawBody {
  /** Largest accepted body; replaces the server-wide limit for this route. */
  readonly maxBytes: number
  /** Accepted media types; parameters (`;codecs=opus`) are ignored, anything else is refused with 415. */
  readonly contentTypes: ReadonlyArray<string>
}

export interface ResponseDoc {
  readonly description: string
  readonly schema?: Schema.Top
  readonly contentType?: string
  /** Other media types the same answer comes in, by `Accept` (documented as text). */
  readonly alternatives?: ReadonlyArray<string>
}

export interface Route<R = any> {
  readonly method: Method
  /** `/v1/interviews/:id` style; `:name` segments become `params.name`. */
  readonly path: string
  readonly operationId: string
  readonly summary: string
  readonly tags: ReadonlyArray<string>
  readonly access: Access
  /**
   * The least role an `apiKey` route needs (see `requiredRole`): by default `reader` for GET and HEAD and
   * `recruiter` for the rest; `admin` for running the tenant (settings, keys, audit log).
   */
  readonly role?: Role
  readonly query?: Schema.Top
  readonly body?: Schema.Top
  /** Mutually exclusive with `body`. */
  readonly rawBody?: RawBody
  readonly responses: Readonly<Record<number, ResponseDoc>>
  /** Left out of the OpenAPI document (operator endpoints). */
  readonly hidden?: boolean
  readonly handle: (ctx: RequestContext<any, any>) => Effect.Effect<Reply, ApiError, R>
}

/** Declares a route with its handler typed from its Schemas. */
export const route = <R, Q extends Schema.Top = Schema.Top, B extends Schema.Top = Schema.Top>(
  definition: Omit<Route<R>, "query" | "body" | "handle"> & {
    readonly query?: Q
    readonly body?: B
    readonly handle: (ctx: RequestContext<Q["Type"], B["Type"]>) => Effect.Effect<Reply, ApiError, R>
  }
): Route<R> => definition as Route<R>

/** The role an `apiKey` route needs: its own `role`, else `reader` to read and `recruiter` to change anything. */
export const requiredRole = (route: Pick<Route, "method" | "role">): Role =>
  route.role ?? (route.method === "get" ? "reader" : "recruiter")

export const json = (status: number, value: unknown): Reply => ({ status, json: value })

/** The token of an `Authorization: Bearer …` header (scheme in any case), or "" when there is none. */
export const bearerToken = (headers: Readonly<Record<string, string>>): string => {
  const auth = headers.authorization ?? ""
  return auth.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : ""
}
