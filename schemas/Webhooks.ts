/**
 * Wire types of webhooks (`/v1/webhooks`): endpoints a tenant registers, the events they get, and the record of
 * each delivery's attempts. The body a receiver gets is `WebhookEvent`.
 */
import { Schema } from "effect"

export const webhookEventTypes = [
  "interview.started",
  "interview.finished",
  "report.ready",
  "interview.erased"
] as const

export const WebhookEventType = Schema.Literals(webhookEventTypes).annotate({
  description:
    "`interview.started`: the candidate began; `interview.finished`: it ended (`data.status` is `finished` or `abandoned`); `report.ready`: the report is complete (every answer's scoring ended; `data.reportUrl`); `interview.erased`: the interview was erased (`data.reason`: `request` or `retention`)."
})
export type WebhookEventType = typeof WebhookEventType.Type

export const CreateWebhookRequest = Schema.Struct({
  url: Schema.String.check(
    Schema.isMinLength(1, { message: "url must not be empty" }),
    Schema.isMaxLength(2048, { message: "url must be at most 2048 characters" })
  ).annotate({
    description:
      "An http or https URL without credentials, on a public address (private, loopback and link-local targets are refused)."
  }),
  events: Schema.Array(WebhookEventType).check(
    Schema.isMinLength(1, { message: "events must name at least one event" })
  )
}).annotate({ title: "CreateWebhookRequest" })
export type CreateWebhookRequest = typeof CreateWebhookRequest.Type

export const Webhook = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  events: Schema.Array(WebhookEventType),
  createdAt: Schema.String,
  rotatedAt: Schema.NullOr(Schema.String)
}).annotate({ title: "Webhook", description: "A registered endpoint; its secret is never shown again." })

export const WebhookList = Schema.Struct({ items: Schema.Array(Webhook) }).annotate({ title: "WebhookList" })

export const WebhookSecret = Schema.Struct({
  id: Schema.String,
  secret: Schema.String.annotate({
    description:
      'The signing secret: shown in this answer only. Each delivery carries `Candor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with this secret>`.'
  })
}).annotate({ title: "WebhookSecret" })

export const CreatedWebhook = Schema.Struct({
  ...WebhookSecret.fields,
  url: Schema.String,
  events: Schema.Array(WebhookEventType),
  createdAt: Schema.String
}).annotate({ title: "CreatedWebhook" })

export const DeliveryAttempt = Schema.Struct({
  attempt: Schema.Number,
  at: Schema.String,
  durationMs: Schema.Number,
  responseStatus: Schema.NullOr(Schema.Number).annotate({ description: "Null when the receiver did not answer." }),
  responseBody: Schema.NullOr(Schema.String).annotate({ description: "The first KiB of the receiver's answer." }),
  error: Schema.NullOr(Schema.String)
}).annotate({ title: "WebhookDeliveryAttempt" })

export const WebhookDelivery = Schema.Struct({
  id: Schema.String,
  eventId: Schema.String.annotate({ description: "The `id` of the body: the same for every webhook and retry." }),
  type: WebhookEventType,
  interviewId: Schema.String,
  state: Schema.Literals(["pending", "running", "delivered", "failed"]),
  attempts: Schema.Array(DeliveryAttempt),
  nextAttemptAt: Schema.NullOr(Schema.String).annotate({ description: "When it is tried next (pending only)." }),
  lastError: Schema.NullOr(Schema.String),
  createdAt: Schema.String
}).annotate({ title: "WebhookDelivery" })

export const WebhookDeliveryList = Schema.Struct({ items: Schema.Array(WebhookDelivery) }).annotate({
  title: "WebhookDeliveryList"
})

export const DeliveriesQuery = Schema.Struct({
  limit: Schema.optionalKey(
    Schema.FiniteFromString.check(
      Schema.isInt({ message: "limit must be an integer" }),
      Schema.isBetween({ minimum: 1, maximum: 500 }, { message: "limit must be between 1 and 500" })
    ).annotate({ description: "How many of the newest deliveries, 1 to 500 (default 100)." })
  )
}).annotate({ title: "WebhookDeliveriesQuery" })

/** What a receiver gets: the event, with `id` to deduplicate retries by. */
export const WebhookEvent = Schema.Struct({
  id: Schema.String,
  type: WebhookEventType,
  createdAt: Schema.String,
  tenantId: Schema.String,
  data: Schema.Record(Schema.String, Schema.Unknown)
}).annotate({ title: "WebhookEvent" })
