/**
 * Tenants and their recruiter API keys. Keys are random 192-bit secrets shown once and stored as SHA-256 hashes:
 * a database leak does not leak working keys, and a key is checked with one indexed lookup.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { createHash, randomBytes } from "node:crypto"
import { fromJson, newId, toIso, toIsoOrNull } from "./Rows.ts"

export type Region = "eu" | "us" | "other"
export type AffectPolicy = "enabled" | "disabled"

/** What an API key may do: `reader` reads, `recruiter` also writes interviews, `admin` also runs the tenant. */
export type Role = "reader" | "recruiter" | "admin"

export interface Tenant {
  readonly id: string
  readonly name: string
  readonly region: Region
  readonly affectPolicy: AffectPolicy
  readonly scoreWeights: Record<string, number>
  /** Days an interview is kept after it ends (at least 1). */
  readonly retentionDays: number
  /** The notice candidates are shown before they consent, and its version (consents name the version). */
  readonly noticeText: string
  readonly noticeVersion: string
  /** Where candidates write about their data ("" when the tenant has not said). */
  readonly privacyContact: string
  readonly createdAt: string
}

/** The settings a tenant's admin may change; absent fields stay as they are. */
export interface TenantPatch {
  readonly name?: string
  readonly affectPolicy?: AffectPolicy
  readonly scoreWeights?: Record<string, number>
  readonly retentionDays?: number
  readonly noticeText?: string
  readonly noticeVersion?: string
  readonly privacyContact?: string
}

/** An API key as listed: never its secret, only the first characters to recognise it by. */
export interface ApiKeyInfo {
  readonly id: string
  readonly tenantId: string
  readonly prefix: string
  readonly label: string
  readonly role: Role
  readonly createdAt: string
  readonly revokedAt: string | null
}

export interface CreateTenant {
  readonly name: string
  readonly region?: Region
  readonly affectPolicy?: AffectPolicy
  readonly scoreWeights?: Record<string, number>
}

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
  retentionDays: Number(row.retention_days),
  noticeText: row.notice_text,
  noticeVersion: row.notice_version,
  privacyContact: row.privacy_contact ?? "",
  createdAt: toIso(row.created_at)
})

const toKeyInfo = (row: any): ApiKeyInfo => ({
  id: row.id,
  tenantId: row.tenant_id,
  prefix: row.prefix,
  label: row.label,
  role: row.role,
  createdAt: toIso(row.created_at),
  revokedAt: toIsoOrNull(row.revoked_at)
})

export interface TenantsShape {
  readonly create: (input: CreateTenant) => Effect.Effect<Tenant, SqlError>
  readonly get: (id: string) => Effect.Effect<Option.Option<Tenant>, SqlError>
  /** Every tenant, oldest first. */
  readonly list: Effect.Effect<ReadonlyArray<Tenant>, SqlError>
  /**
   * Changes a tenant's settings; none when there is no such tenant. The caller refuses affect on for an EU tenant
   * first; the table's own check refuses it too.
   */
  readonly update: (id: string, patch: TenantPatch) => Effect.Effect<Option.Option<Tenant>, SqlError>
  /** Issues a new key (role `admin` unless given); the plaintext is returned here and never again. */
  readonly issueKey: (
    tenantId: string,
    label: string,
    role?: Role
  ) => Effect.Effect<{ id: string; key: string; role: Role }, SqlError>
  /** A tenant's keys, revoked ones included, oldest first; no secrets. */
  readonly listKeys: (tenantId: string) => Effect.Effect<ReadonlyArray<ApiKeyInfo>, SqlError>
  /** Looked up in the database on every request: a revoked key is refused from the next request on. */
  readonly authenticate: (key: string) => Effect.Effect<Option.Option<ApiKeyPrincipal>, SqlError>
  /** Revokes a key of this tenant; false when it is not one of its keys or was revoked already. */
  readonly revokeKey: (tenantId: string, keyId: string) => Effect.Effect<boolean, SqlError>
  /** Revokes a key whatever its tenant (operator command); its tenant id, or none when not found or revoked. */
  readonly revokeAnyKey: (keyId: string) => Effect.Effect<Option.Option<string>, SqlError>
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
        list: sql`SELECT * FROM tenants ORDER BY created_at, id`.pipe(
          Effect.map((rows) => rows.map(toTenant)),
          Effect.withSpan("Tenants.list")
        ),
        update: (id, patch) =>
          sql`
            UPDATE tenants SET
              name = COALESCE(${patch.name ?? null}, name),
              affect_policy = COALESCE(${patch.affectPolicy ?? null}, affect_policy),
              score_weights = COALESCE(${patch.scoreWeights === undefined ? null : JSON.stringify(patch.scoreWeights)}::jsonb, score_weights),
              retention_days = COALESCE(${patch.retentionDays ?? null}::integer, retention_days),
              notice_text = COALESCE(${patch.noticeText ?? null}, notice_text),
              notice_version = COALESCE(${patch.noticeVersion ?? null}, notice_version),
              privacy_contact = COALESCE(${patch.privacyContact ?? null}, privacy_contact)
            WHERE id = ${id}
            RETURNING *`.pipe(
            Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toTenant)),
            Effect.withSpan("Tenants.update")
          ),
        issueKey: (tenantId, label, role = "admin") =>
          Effect.gen(function* () {
            const key = KEY_PREFIX + randomBytes(24).toString("base64url")
            const id = newId()
            yield* sql`
              INSERT INTO api_keys (id, tenant_id, key_hash, prefix, label, role)
              VALUES (${id}, ${tenantId}, ${hashApiKey(key)}, ${key.slice(0, 10)}, ${label}, ${role})`
            return { id, key, role }
          }).pipe(Effect.withSpan("Tenants.issueKey")),
        listKeys: (tenantId) =>
          sql`SELECT id, tenant_id, prefix, label, role, created_at, revoked_at FROM api_keys
              WHERE tenant_id = ${tenantId} ORDER BY created_at, id`.pipe(
            Effect.map((rows) => rows.map(toKeyInfo)),
            Effect.withSpan("Tenants.listKeys")
          ),
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
              RETURNING id`.pipe(Effect.map((rows) => rows.length > 0)),
        revokeAnyKey: (keyId) =>
          sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${keyId} AND revoked_at IS NULL
              RETURNING tenant_id`.pipe(
            Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0] as any), (r: any) => String(r.tenant_id)))
          )
      }
    })
  )
}
