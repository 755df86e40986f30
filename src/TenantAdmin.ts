/**
 * Running tenants: creating them, changing their settings, issuing, listing and revoking their API keys. Every
 * change is an audit row. The operator's commands (`candor tenant`, `candor key`) and a tenant admin's routes
 * (`/v1/tenant`, `/v1/keys`) both go through here, so the EU rule and the audit trail are the same on both paths.
 */
import { Data, Effect, Option } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { euAffectRefusal } from "../schemas/Tenancy.ts"
import { AuditLog } from "./store/AuditLog.ts"
import { type ApiKeyInfo, type Region, type Role, type Tenant, type TenantPatch, Tenants } from "./store/Tenants.ts"

/** Affect signals asked for an EU tenant: refused, with the reason. */
export class EuAffectRefused extends Data.TaggedError("EuAffectRefused")<{}> {
  override get message() {
    return euAffectRefusal
  }
}

export class TenantNotFound extends Data.TaggedError("TenantNotFound")<{ readonly tenantId: string }> {
  override get message() {
    return `no tenant ${this.tenantId}`
  }
}

export class KeyNotFound extends Data.TaggedError("KeyNotFound")<{ readonly keyId: string }> {
  override get message() {
    return `no active key ${this.keyId}`
  }
}

/** The operator, for audit rows of `candor tenant` and `candor key`. */
export const operatorActor = "operator"

export interface NewTenant {
  readonly name: string
  readonly region: Region
  /** Affect signals on; off when not given for an EU tenant, on otherwise. */
  readonly affect?: boolean
}

/** Creates a tenant with a first admin key; an EU tenant asking for affect signals is refused. */
export const createTenant = (input: NewTenant, actor = operatorActor) =>
  Effect.gen(function* () {
    if (input.region === "eu" && input.affect === true) return yield* new EuAffectRefused()
    const tenants = yield* Tenants
    const audit = yield* AuditLog
    const tenant = yield* tenants.create({
      name: input.name,
      region: input.region,
      ...(input.affect === undefined ? {} : { affectPolicy: input.affect ? "enabled" : "disabled" })
    })
    const key = yield* tenants.issueKey(tenant.id, "first admin key", "admin")
    yield* audit.record({
      tenantId: tenant.id,
      actor,
      action: "tenant.create",
      subject: tenant.id,
      detail: { region: tenant.region, affectPolicy: tenant.affectPolicy }
    })
    yield* audit.record({
      tenantId: tenant.id,
      actor,
      action: "key.create",
      subject: key.id,
      detail: { role: key.role }
    })
    return { tenant, keyId: key.id, apiKey: key.key }
  }).pipe(Effect.withSpan("TenantAdmin.createTenant"))

const requireTenant = (tenantId: string): Effect.Effect<Tenant, TenantNotFound | SqlError, Tenants> =>
  Effect.flatMap(Tenants, (t) => t.get(tenantId)).pipe(
    Effect.flatMap(
      Option.match({ onNone: () => Effect.fail(new TenantNotFound({ tenantId })), onSome: Effect.succeed })
    )
  )

export const getTenant = requireTenant

export const listTenants = Effect.flatMap(Tenants, (t) => t.list)

/** Changes a tenant's settings, one audit row listing what changed (the notice's text by its length only). */
export const updateTenant = (tenantId: string, patch: TenantPatch, actor: string) =>
  Effect.gen(function* () {
    const before = yield* requireTenant(tenantId)
    if (before.region === "eu" && patch.affectPolicy === "enabled") return yield* new EuAffectRefused()
    const tenants = yield* Tenants
    const audit = yield* AuditLog
    const after = Option.getOrUndefined(yield* tenants.update(tenantId, patch))
    if (after === undefined) return yield* new TenantNotFound({ tenantId })
    const changed: Record<string, unknown> = {}
    for (const field of Object.keys(patch) as Array<keyof TenantPatch>) {
      if (patch[field] === undefined) continue
      changed[field] =
        field === "noticeText"
          ? { fromLength: before.noticeText.length, toLength: after.noticeText.length }
          : { from: before[field], to: after[field] }
    }
    yield* audit.record({ tenantId, actor, action: "tenant.update", subject: tenantId, detail: changed })
    return after
  }).pipe(Effect.withSpan("TenantAdmin.updateTenant"))

/** Issues a key of `role` for the tenant; its secret is in the result and nowhere else. */
export const createKey = (tenantId: string, role: Role, label: string, actor: string) =>
  Effect.gen(function* () {
    yield* requireTenant(tenantId)
    const tenants = yield* Tenants
    const key = yield* tenants.issueKey(tenantId, label, role)
    yield* (yield* AuditLog).record({
      tenantId,
      actor,
      action: "key.create",
      subject: key.id,
      detail: { role, label }
    })
    return { keyId: key.id, apiKey: key.key, role: key.role }
  }).pipe(Effect.withSpan("TenantAdmin.createKey"))

export const listKeys = (
  tenantId: string
): Effect.Effect<ReadonlyArray<ApiKeyInfo>, TenantNotFound | SqlError, Tenants> =>
  Effect.flatMap(requireTenant(tenantId), () => Effect.flatMap(Tenants, (t) => t.listKeys(tenantId)))

/**
 * Revokes a key: of this tenant only when `tenantId` is given (a tenant admin), of any tenant otherwise (the
 * operator). Refused from the next request on: keys are checked against the database on every request.
 */
export const revokeKey = (keyId: string, actor: string, tenantId?: string) =>
  Effect.gen(function* () {
    const tenants = yield* Tenants
    const owner =
      tenantId === undefined
        ? Option.getOrUndefined(yield* tenants.revokeAnyKey(keyId))
        : (yield* tenants.revokeKey(tenantId, keyId))
          ? tenantId
          : undefined
    if (owner === undefined) return yield* new KeyNotFound({ keyId })
    yield* (yield* AuditLog).record({ tenantId: owner, actor, action: "key.revoke", subject: keyId })
    return { keyId, tenantId: owner }
  }).pipe(Effect.withSpan("TenantAdmin.revokeKey"))

/** A key as it is listed: no secret, only the first characters to recognise it by. */
export const keyItem = (k: {
  id: string
  prefix: string
  label: string
  role: string
  createdAt: string
  revokedAt: string | null
}) => ({
  id: k.id,
  prefix: k.prefix,
  label: k.label,
  role: k.role,
  createdAt: k.createdAt,
  revokedAt: k.revokedAt
})
