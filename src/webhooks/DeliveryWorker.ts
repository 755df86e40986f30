/**
 * Delivers the webhook outbox. Every engine runs workers that claim due deliveries under a lease (several engines
 * share the work; a delivery is attempted by one of them at a time), send each signed, and end the claim:
 * delivered on a 2xx, otherwise due again after an exponential backoff with jitter (the first retry after about
 * `firstRetryMs`, each later one about twice as long, at most `maxRetryMs`), until `giveUpAfterMs` after the event,
 * when it fails for good. A worker stopped mid-attempt hands its claims back; one that dies leaves the lease to run
 * out. So every event is delivered at least once, and receivers deduplicate by the event's `id`.
 */
import { Clock, Context, Effect, Layer, Metric, Random } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { ReportLinks } from "../actors/ReportLinks.ts"
import { byLabels, Metrics } from "../Metrics.ts"
import { startQueueWorkers } from "../store/QueueWorkers.ts"
import { type ClaimedDelivery, type DeliveryOutcome, Webhooks } from "../store/Webhooks.ts"
import { send } from "./WebhookSender.ts"

export interface WebhookSettings {
  /** Deliver to (and accept) targets in private, loopback and link-local networks. */
  readonly allowPrivateNetworks: boolean
  /** Deadline of one attempt, connect to last byte. */
  readonly timeoutMs: number
  /** Delay before the first retry; each later one about doubles. */
  readonly firstRetryMs: number
  /** Longest delay between two attempts. */
  readonly maxRetryMs: number
  /** How long after the event attempts go on before the delivery fails for good. */
  readonly giveUpAfterMs: number
  /** Deliveries one process attempts at the same time. */
  readonly concurrency: number
  /** How often the idle workers, between them, look for due deliveries. */
  readonly pollIntervalMs: number
}

export const defaultWebhookSettings: WebhookSettings = {
  allowPrivateNetworks: false,
  timeoutMs: 10_000,
  firstRetryMs: 5_000,
  maxRetryMs: 60 * 60_000,
  giveUpAfterMs: 24 * 60 * 60_000,
  concurrency: 4,
  pollIntervalMs: 1_000
}

/** `candor_webhook_deliveries_total{outcome}`: delivered, failed, pending (retried later) or lease_lost. */
const deliveryOutcomes = byLabels((attributes) =>
  Metric.counter("candor_webhook_deliveries_total", {
    description: "Ends of webhook delivery attempts by outcome.",
    attributes,
    incremental: true
  })
)

/** The delay before attempt `attempts + 1`: doubling from `firstRetryMs`, ±25 % jitter, at most `maxRetryMs`. */
export const retryDelayMs = (settings: WebhookSettings, attempts: number, random: number): number => {
  const base = settings.firstRetryMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30)
  return Math.round(Math.min(settings.maxRetryMs, base) * (0.75 + 0.5 * random))
}

/** The JSON body receivers get. */
export const deliveryBody = (delivery: ClaimedDelivery, reportUrl: (interviewId: string) => string): string =>
  JSON.stringify({
    id: delivery.eventId,
    type: delivery.type,
    createdAt: delivery.createdAt,
    tenantId: delivery.tenantId,
    data:
      delivery.type === "report.ready"
        ? { ...delivery.data, reportUrl: reportUrl(delivery.interviewId) }
        : delivery.data
  })

export interface DeliveryWorkerShape {
  /** Claims up to `limit` due deliveries and attempts them; returns how many were claimed. */
  readonly runOnce: (limit?: number) => Effect.Effect<number, SqlError>
  readonly settings: WebhookSettings
}

const make = (settings: WebhookSettings) =>
  Effect.gen(function* () {
    const store = yield* Webhooks
    const metrics = yield* Metrics
    const reportUrl = yield* ReportLinks
    const leaseMs = settings.timeoutMs + 30_000

    const attempt = (delivery: ClaimedDelivery) =>
      Effect.gen(function* () {
        const at = new Date(yield* Clock.currentTimeMillis)
        const result = yield* send({
          url: delivery.url,
          secret: delivery.secret,
          body: deliveryBody(delivery, reportUrl),
          timeoutMs: settings.timeoutMs,
          allowPrivate: settings.allowPrivateNetworks
        })
        const now = yield* Clock.currentTimeMillis
        let outcome: DeliveryOutcome
        if (result.error === null) {
          outcome = { state: "delivered" }
        } else {
          const deadline = Date.parse(delivery.createdAt) + settings.giveUpAfterMs
          const delay = retryDelayMs(settings, delivery.attempts, yield* Random.next)
          outcome =
            now >= deadline
              ? { state: "failed", reason: `gave up after ${delivery.attempts} attempts: ${result.error}` }
              : { state: "pending", reason: result.error, retryInMs: Math.min(delay, deadline - now) }
        }
        const owned = yield* store.finish(
          delivery,
          {
            at: at.toISOString(),
            durationMs: result.durationMs,
            responseStatus: result.status,
            responseBody: result.responseBody,
            error: result.error
          },
          outcome
        )
        metrics.update(deliveryOutcomes({ outcome: owned ? outcome.state : "lease_lost" }), 1)
        if (outcome.state === "failed")
          yield* Effect.logWarning(`webhook ${delivery.webhookId}: ${delivery.type} ${outcome.reason}`)
      }).pipe(
        Effect.onInterrupt(() => Effect.ignore(store.release(delivery))),
        Effect.withSpan("DeliveryWorker.attempt", {
          attributes: { deliveryId: delivery.id, type: delivery.type, attempt: delivery.attempts }
        })
      )

    const runOnce = (limit = settings.concurrency) =>
      // As in the scoring queue: a claim made is either attempted or handed back, even when the worker is stopped.
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const claimed = yield* store.claim({ limit, leaseMs })
          yield* restore(Effect.forEach(claimed, attempt, { concurrency: "unbounded", discard: true })).pipe(
            Effect.onInterrupt(() => Effect.forEach(claimed, (d) => Effect.ignore(store.release(d)), { discard: true }))
          )
          return claimed.length
        })
      )

    return { runOnce, settings }
  })

/** Webhook delivery; see the module notes. */
export class DeliveryWorker extends Context.Service<DeliveryWorker, DeliveryWorkerShape>()(
  "candor/webhooks/DeliveryWorker"
) {
  /** Without background workers (call `runOnce` yourself). */
  static readonly layer = (settings: WebhookSettings) => Layer.effect(DeliveryWorker, make(settings))

  /**
   * With `concurrency` background workers, stopped when the layer's scope closes. Idle, they look for due
   * deliveries once per `pollIntervalMs` between them (see `startQueueWorkers`).
   */
  static readonly layerWithWorkers = (settings: WebhookSettings) =>
    Layer.effect(
      DeliveryWorker,
      Effect.gen(function* () {
        const worker = yield* make(settings)
        yield* startQueueWorkers({
          concurrency: settings.concurrency,
          pollIntervalMs: settings.pollIntervalMs,
          runOnce: worker.runOnce(1),
          name: "webhook delivery worker"
        })
        return worker
      })
    )
}
