/**
 * A tenant admin's webhooks (`/v1/webhooks`, role `admin`): register an endpoint for some events (its secret is in
 * that answer only), list, delete, rotate the secret, and read each delivery's attempts. Targets are checked against
 * the server-side request forgery policy here and again before every delivery. Changes are audited.
 */
import { Effect, Option } from "effect"
import {
  CreatedWebhook,
  CreateWebhookRequest,
  DeliveriesQuery,
  WebhookDeliveryList,
  WebhookList,
  WebhookSecret
} from "../../../schemas/Webhooks.ts"
import { AppConfig } from "../../config.ts"
import { type Webhook, Webhooks } from "../../store/Webhooks.ts"
import { newSecret } from "../../webhooks/Signature.ts"
import { checkTarget } from "../../webhooks/TargetPolicy.ts"
import { ApiError } from "../ApiError.ts"
import { json, type RequestContext, route } from "../Route.ts"

/** Endpoints one tenant may register. */
export const MAX_WEBHOOKS_PER_TENANT = 20

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

const view = (w: Webhook) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  createdAt: w.createdAt,
  rotatedAt: w.rotatedAt
})

const actor = (ctx: RequestContext<unknown, unknown>) => ({
  tenantId: ctx.principal.tenantId,
  actor: ctx.principal.actor,
  source: ctx.remote
})

const notFound = () => ApiError.notFound("webhook")

export const webhookRoutes = [
  route({
    method: "post",
    path: "/v1/webhooks",
    operationId: "createWebhook",
    summary:
      "Admin: register an endpoint for events; the signing secret is in this answer only; private and loopback targets are refused; audited",
    tags: ["webhooks"],
    access: "apiKey",
    role: "admin",
    body: CreateWebhookRequest,
    responses: {
      201: { description: "Registered", schema: CreatedWebhook },
      400: { description: "Not an http(s) URL, credentials in it, or a target that is not public" },
      409: { description: `The tenant already has ${MAX_WEBHOOKS_PER_TENANT} webhooks` }
    },
    handle: (ctx) =>
      Effect.gen(function* () {
        const config = yield* AppConfig
        const store = yield* Webhooks
        yield* checkTarget(ctx.body.url, config.webhooks.allowPrivateNetworks).pipe(
          Effect.mapError((e) => ApiError.badRequest(`url refused: ${e.message}`, "webhook_target_refused"))
        )
        if (
          (yield* store.count(ctx.principal.tenantId).pipe(Effect.mapError(dbUnavailable))) >= MAX_WEBHOOKS_PER_TENANT
        )
          return yield* ApiError.conflict(`a tenant may have at most ${MAX_WEBHOOKS_PER_TENANT} webhooks`)
        const secret = newSecret()
        const created = yield* store
          .create(actor(ctx), { url: ctx.body.url, events: [...new Set(ctx.body.events)], secret })
          .pipe(Effect.mapError(dbUnavailable))
        return json(201, {
          id: created.id,
          secret,
          url: created.url,
          events: created.events,
          createdAt: created.createdAt
        })
      })
  }),
  route({
    method: "get",
    path: "/v1/webhooks",
    operationId: "listWebhooks",
    summary: "Admin: the tenant's webhooks; never their secrets",
    tags: ["webhooks"],
    access: "apiKey",
    role: "admin",
    responses: { 200: { description: "Webhooks", schema: WebhookList } },
    handle: ({ principal }) =>
      Effect.flatMap(Webhooks, (store) => store.list(principal.tenantId)).pipe(
        Effect.map((items) => json(200, { items: items.map(view) })),
        Effect.mapError(dbUnavailable)
      )
  }),
  route({
    method: "delete",
    path: "/v1/webhooks/:id",
    operationId: "deleteWebhook",
    summary: "Admin: delete a webhook; its pending deliveries are dropped; audited",
    tags: ["webhooks"],
    access: "apiKey",
    role: "admin",
    responses: { 204: { description: "Deleted" }, 404: { description: "No such webhook of the tenant" } },
    handle: (ctx) =>
      Effect.gen(function* () {
        const store = yield* Webhooks
        const removed = yield* store.remove(actor(ctx), ctx.params.id!).pipe(Effect.mapError(dbUnavailable))
        if (!removed) return yield* notFound()
        return { status: 204 }
      })
  }),
  route({
    method: "post",
    path: "/v1/webhooks/:id/rotate",
    operationId: "rotateWebhookSecret",
    summary:
      "Admin: replace a webhook's signing secret; the old one signs nothing from now on; the new one is in this answer only; audited",
    tags: ["webhooks"],
    access: "apiKey",
    role: "admin",
    responses: {
      200: { description: "Rotated", schema: WebhookSecret },
      404: { description: "No such webhook of the tenant" }
    },
    handle: (ctx) =>
      Effect.gen(function* () {
        const store = yield* Webhooks
        const secret = newSecret()
        const rotated = yield* store.rotate(actor(ctx), ctx.params.id!, secret).pipe(Effect.mapError(dbUnavailable))
        if (!rotated) return yield* notFound()
        return json(200, { id: ctx.params.id!, secret })
      })
  }),
  route({
    method: "get",
    path: "/v1/webhooks/:id/deliveries",
    operationId: "listWebhookDeliveries",
    summary: "Admin: a webhook's newest deliveries, each with its attempts (time, response status, error, duration)",
    tags: ["webhooks"],
    access: "apiKey",
    role: "admin",
    query: DeliveriesQuery,
    responses: {
      200: { description: "Deliveries, newest first", schema: WebhookDeliveryList },
      404: { description: "No such webhook of the tenant" }
    },
    handle: ({ principal, params, query }) =>
      Effect.gen(function* () {
        const store = yield* Webhooks
        const hook = yield* store.get(principal.tenantId, params.id!).pipe(Effect.mapError(dbUnavailable))
        if (Option.isNone(hook)) return yield* notFound()
        const items = yield* store.deliveries(hook.value.id, query.limit ?? 100).pipe(Effect.mapError(dbUnavailable))
        return json(200, { items })
      })
  })
]
