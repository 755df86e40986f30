/**
 * Tenants and their recruiter API keys. Keys are random 192-bit secrets shown once and stored as SHA-256 hashes:
 * a database leak does not leak working keys, and a key is checked with one indexed lookup.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { createHash, randomBytes } from "node:crypto"
import { fromJson, newId, toIso } from "./Rows.ts"

export type Region = "eu" | "other"
export type AffectPolicy = "enabled" | "disabled"

export interface Tenant {
  readonly id: string
  readonly name: string
  readonly region: Region
  readonly affectPolicy: AffectPolicy
  readonly scoreWeights: Record<string, number>
  readonly createdAt: string
}

export interface CreateTenant {
  readonly name: string
  readonly region?: Region
  readonly affectPolicy?: AffectPolicy
  readonly scoreWeights?: Record<string, number>
}

export type Role = "admin" | "recruiter" | "reader"

/** Who a request acts for: an API key or a signed-in person (`UserPrincipal`). */
export interface Principal {
  readonly tenantId: string
  readonly role: Role
  /** For audit rows: `key:<id>` or `user:<id>`. */
  readonly actor: string
}

export interface ApiKeyPrincipal extends Principal {
  readonly keyId: string
}

const KEY_PREFIX = "cnd_"

export const hashApiKey = (key: string): string => createHash("sha256").update(key).digest("hex")

/** Affect signals are never on for an EU tenant, whatever was asked. */
export const effectiveAffectPolicy = (region: Region, asked: AffectPolicy | undefined): AffectPolicy =>
  region === "eu" ? "disabled" : (asked ?? "enabled")

const toTenant = (row: any): Tenant => ({
  id: row.id,
  name: row.name,
  region: row.region,
  affectPolicy: row.affect_policy,
  scoreWeights: fromJson(row.score_weights),
  createdAt: toIso(row.created_at)
})

export interface TenantsShape {
  readonly create: (input: CreateTenant) => Effect.Effect<Tenant, SqlError>
  readonly get: (id: string) => Effect.Effect<Option.Option<Tenant>, SqlError>
  /** Issues a new key; the plaintext is returned here and never again. */
  readonly issueKey: (tenantId: string, label: string) => Effect.Effect<{ id: string; key: string }, SqlError>
  readonly authenticate: (key: string) => Effect.Effect<Option.Option<ApiKeyPrincipal>, SqlError>
  readonly revokeKey: (tenantId: string, keyId: string) => Effect.Effect<boolean, SqlError>
  /** Whether any tenant exists (a first start on an empty database has none). */
  readonly any: Effect.Effect<boolean, SqlError>
}

/** Tenants and API keys. */
export class Tenants extends Context.Service<Tenants, TenantsShape>()("candor/Tenants") {
  static readonly layer = Layer.effect(
    Tenants,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return {
        any: sql`SELECT EXISTS (SELECT 1 FROM tenants) AS any`.pipe(
          Effect.map((rows) => (rows[0] as { any: boolean }).any === true)
        ),
        create: (input) =>
          Effect.gen(function* () {
            const region = input.region ?? "other"
            const rows = yield* sql`
              INSERT INTO tenants (id, name, region, affect_policy, score_weights)
              VALUES (${newId()}, ${input.name}, ${region}, ${effectiveAffectPolicy(region, input.affectPolicy)},
                      ${JSON.stringify(input.scoreWeights ?? {})}::jsonb)
              RETURNING *`
            return toTenant(rows[0])
          }).pipe(Effect.withSpan("Tenants.create")),
        get: (id) =>
          sql`SELECT * FROM tenants WHERE id = ${id}`.pipe(
            Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toTenant)),
            Effect.withSpan("Tenants.get")
          ),
        issueKey: (tenantId, label) =>
          Effect.gen(function* () {
            const key = KEY_PREFIX + randomBytes(24).toString("base64url")
            const id = newId()
            yield* sql`
              INSERT INTO api_keys (id, tenant_id, key_hash, prefix, label)
              VALUES (${id}, ${tenantId}, ${hashApiKey(key)}, ${key.slice(0, 10)}, ${label})`
            return { id, key }
          }).pipe(Effect.withSpan("Tenants.issueKey")),
        authenticate: (key) =>
          key.startsWith(KEY_PREFIX) && key.length < 200
            ? sql`SELECT id, tenant_id, role FROM api_keys WHERE key_hash = ${hashApiKey(key)} AND revoked_at IS NULL`.pipe(
                Effect.map((rows) =>
                  Option.map(
                    Option.fromNullishOr(rows[0] as any),
                    (r: any): ApiKeyPrincipal => ({
                      tenantId: r.tenant_id,
                      keyId: r.id,
                      role: r.role,
                      actor: `key:${r.id}`
                    })
                  )
                ),
                Effect.withSpan("Tenants.authenticate")
              )
            : Effect.succeed(Option.none()),
        revokeKey: (tenantId, keyId) =>
          sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${keyId} AND tenant_id = ${tenantId} AND revoked_at IS NULL
              RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))
      }
    })
  )
}
