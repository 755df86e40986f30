/**
 * Running a tenant: its admin's routes (`/v1/tenant`, `/v1/keys`, role `admin`) and the operator's loopback routes
 * behind `candor tenant` and `candor key` while a server holds the embedded database (admin token; not in OpenAPI).
 */
import { Effect, Schema } from "effect"
import {
  ApiKeyList,
  CreatedKey,
  CreatedTenant,
  CreateKeyCommand,
  CreateKeyRequest,
  CreateTenantCommand,
  TenantList,
  TenantSettings,
  UpdateTenantRequest
} from "../../../schemas/Tenancy.ts"
import { isId } from "../../store/Rows.ts"
import {
  createKey,
  createTenant,
  getTenant,
  KeyNotFound,
  listKeys,
  listTenants,
  operatorActor,
  revokeKey,
  updateTenant,
  keyItem
} from "../../TenantAdmin.ts"
import { ApiError } from "../ApiError.ts"
import { json, route } from "../Route.ts"
import { SessionRegistry } from "../../actors/SessionRegistry.ts"

/** The ways tenant administration fails, as HTTP answers. */
const toApiError = (e: { readonly _tag: string; readonly message: string }): ApiError => {
  switch (e._tag) {
    case "EuAffectRefused":
      return ApiError.conflict(e.message)
    case "TenantNotFound":
    case "KeyNotFound":
      return new ApiError({ status: 404, code: "not_found", message: e.message })
    default:
      return ApiError.unavailable("database unavailable; retry shortly")
  }
}

export const tenantRoutes = [
  route({
    method: "get",
    path: "/v1/tenant",
    operationId: "getTenant",
    summary: "The caller's tenant: name, region, affect policy, score weights, retention and candidate notice",
    tags: ["tenant"],
    access: "apiKey",
    role: "admin",
    responses: { 200: { description: "The tenant", schema: TenantSettings } },
    handle: ({ principal }) =>
      getTenant(principal.tenantId).pipe(
        Effect.map((t) => json(200, t)),
        Effect.mapError(toApiError)
      )
  }),
  route({
    method: "patch",
    path: "/v1/tenant",
    operationId: "updateTenant",
    summary:
      "Change the tenant's name, affect policy (never on for an EU tenant: 409), score weights, retention days or candidate notice; audited",
    tags: ["tenant"],
    access: "apiKey",
    role: "admin",
    body: UpdateTenantRequest,
    responses: {
      200: { description: "Changed and audited", schema: TenantSettings },
      409: { description: "Affect signals asked for an EU tenant (EU AI Act)" }
    },
    handle: ({ principal, body }) =>
      updateTenant(principal.tenantId, body, principal.actor).pipe(
        Effect.mapError(toApiError),
        // A new notice counts at once in the tenant's live sessions: consent given on the old one no longer does.
        Effect.tap((t) =>
          body.noticeVersion === undefined
            ? Effect.void
            : Effect.flatMap(SessionRegistry, (r) => r.noticeChanged(t.id, t.noticeVersion))
        ),
        Effect.map((t) => json(200, t))
      )
  }),
  route({
    method: "get",
    path: "/v1/keys",
    operationId: "listKeys",
    summary: "The tenant's API keys, revoked ones included; never their secrets",
    tags: ["tenant"],
    access: "apiKey",
    role: "admin",
    responses: { 200: { description: "Keys", schema: ApiKeyList } },
    handle: ({ principal }) =>
      listKeys(principal.tenantId).pipe(
        Effect.map((keys) => json(200, { items: keys.map(keyItem) })),
        Effect.mapError(toApiError)
      )
  }),
  route({
    method: "post",
    path: "/v1/keys",
    operationId: "createKey",
    summary: "Issue an API key with a role; the secret is in this answer only; audited",
    tags: ["tenant"],
    access: "apiKey",
    role: "admin",
    body: CreateKeyRequest,
    responses: { 201: { description: "Issued", schema: CreatedKey } },
    handle: ({ principal, body }) =>
      createKey(principal.tenantId, body.role, body.label ?? "", principal.actor).pipe(
        Effect.map((k) => json(201, k)),
        Effect.mapError(toApiError)
      )
  }),
  route({
    method: "delete",
    path: "/v1/keys/:id",
    operationId: "revokeKey",
    summary: "Revoke one of the tenant's API keys; refused from its next request on; audited",
    tags: ["tenant"],
    access: "apiKey",
    role: "admin",
    responses: { 204: { description: "Revoked" } },
    handle: ({ principal, params }) =>
      (isId(params.id!)
        ? revokeKey(params.id!, principal.actor, principal.tenantId)
        : Effect.fail(new KeyNotFound({ keyId: params.id! }))
      ).pipe(Effect.as({ status: 204 }), Effect.mapError(toApiError))
  })
]

const TenantQuery = Schema.Struct({ tenant: Schema.String })

/** The operator's routes for `candor tenant` and `candor key` (loopback, admin token). */
export const tenantOperatorRoutes = [
  route({
    method: "post",
    path: "/internal/tenants",
    operationId: "operatorCreateTenant",
    summary: "Create a tenant with a first admin key",
    tags: ["operator"],
    access: "admin",
    hidden: true,
    body: CreateTenantCommand,
    responses: { 201: { description: "Created", schema: CreatedTenant } },
    handle: ({ body }) =>
      createTenant(body).pipe(
        Effect.map((r) => json(201, { tenantId: r.tenant.id, apiKey: r.apiKey })),
        Effect.mapError(toApiError)
      )
  }),
  route({
    method: "get",
    path: "/internal/tenants",
    operationId: "operatorListTenants",
    summary: "Every tenant",
    tags: ["operator"],
    access: "admin",
    hidden: true,
    responses: { 200: { description: "Tenants", schema: TenantList } },
    handle: () =>
      listTenants.pipe(
        Effect.map((items) => json(200, { items })),
        Effect.mapError(toApiError)
      )
  }),
  route({
    method: "post",
    path: "/internal/keys",
    operationId: "operatorCreateKey",
    summary: "Issue an API key for a tenant",
    tags: ["operator"],
    access: "admin",
    hidden: true,
    body: CreateKeyCommand,
    responses: { 201: { description: "Issued", schema: CreatedKey } },
    handle: ({ body }) =>
      createKey(body.tenantId, body.role, body.label ?? "", operatorActor).pipe(
        Effect.map((k) => json(201, k)),
        Effect.mapError(toApiError)
      )
  }),
  route({
    method: "get",
    path: "/internal/keys",
    operationId: "operatorListKeys",
    summary: "A tenant's API keys, without secrets",
    tags: ["operator"],
    access: "admin",
    hidden: true,
    query: TenantQuery,
    responses: { 200: { description: "Keys", schema: ApiKeyList } },
    handle: ({ query }) =>
      listKeys(query.tenant).pipe(
        Effect.map((keys) => json(200, { items: keys.map(keyItem) })),
        Effect.mapError(toApiError)
      )
  }),
  route({
    method: "delete",
    path: "/internal/keys/:id",
    operationId: "operatorRevokeKey",
    summary: "Revoke an API key, whatever its tenant",
    tags: ["operator"],
    access: "admin",
    hidden: true,
    responses: { 204: { description: "Revoked" } },
    handle: ({ params }) =>
      revokeKey(params.id!, operatorActor).pipe(Effect.as({ status: 204 }), Effect.mapError(toApiError))
  })
]
