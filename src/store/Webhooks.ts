/**
 * The SQL side of webhooks: a tenant's endpoints (each change in one transaction with its audit row) and the
 * delivery outbox the database fills itself (migration 0009). Deliveries are claimed under a lease like scoring
 * jobs, and every end of a claim is fenced by the lease token. An interview's deliveries to one webhook go in
 * order: one is due only when none before it (lower `seq`) is still pending or running.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { AuditLog } from "./AuditLog.ts"
import { fromJson, isId, newId, toIso, toIsoOrNull } from "./Rows.ts"

export interface Webhook {
  readonly id: string
  readonly tenantId: string
  readonly url: string
  readonly events: ReadonlyArray<string>
  readonly createdAt: string
  readonly rotatedAt: string | null
}

export type DeliveryState = "pending" | "running" | "delivered" | "failed"

export interface DeliveryAttempt {
  readonly attempt: number
  readonly at: string
  readonly durationMs: number
  /** The receiver's HTTP status; null when no answer came (refused, timeout, network error). */
  readonly responseStatus: number | null
  /** The start of the receiver's answer, for debugging. */
  readonly responseBody: string | null
  readonly error: string | null
}

export interface Delivery {
  readonly id: string
  readonly eventId: string
  readonly type: string
  readonly interviewId: string
  readonly state: DeliveryState
  readonly attempts: ReadonlyArray<DeliveryAttempt>
  readonly nextAttemptAt: string | null
  readonly lastError: string | null
  readonly createdAt: string
}

/** A delivery taken by one worker until its lease ends or it is finished; carries what the request needs. */
export interface ClaimedDelivery {
  readonly id: string
  readonly webhookId: string
  readonly tenantId: string
  readonly eventId: string
  readonly type: string
  readonly interviewId: string
  readonly data: Record<string, unknown>
  readonly createdAt: string
  /** Including this one. */
  readonly attempts: number
  readonly url: string
  /** The webhook's secret at claim time (a rotation takes effect from the next claim). */
  readonly secret: string
  /** Lease token; ends of the claim are accepted only with it. */
  readonly owner: string
}

export type DeliveryOutcome =
  | { readonly state: "delivered" }
  | { readonly state: "failed"; readonly reason: string }
  | { readonly state: "pending"; readonly reason: string; readonly retryInMs: number }

/** Who changes a webhook, for the audit row. */
export interface Actor {
  readonly tenantId: string
  readonly actor: string
  readonly source?: string
}

export interface WebhooksShape {
  readonly create: (
    by: Actor,
    hook: { readonly url: string; readonly events: ReadonlyArray<string>; readonly secret: string }
  ) => Effect.Effect<Webhook, SqlError>
  readonly list: (tenantId: string) => Effect.Effect<ReadonlyArray<Webhook>, SqlError>
  readonly count: (tenantId: string) => Effect.Effect<number, SqlError>
  readonly get: (tenantId: string, id: string) => Effect.Effect<Option.Option<Webhook>, SqlError>
  /** False when there is no such webhook of the tenant. Its deliveries go with it. */
  readonly remove: (by: Actor, id: string) => Effect.Effect<boolean, SqlError>
  /** Replaces the secret; false when there is no such webhook of the tenant. */
  readonly rotate: (by: Actor, id: string, secret: string) => Effect.Effect<boolean, SqlError>
  /** The webhook's newest deliveries with their attempts, newest first. */
  readonly deliveries: (webhookId: string, limit: number) => Effect.Effect<ReadonlyArray<Delivery>, SqlError>
  readonly claim: (options: {
    readonly limit: number
    readonly leaseMs: number
  }) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, SqlError>
  /** Records the attempt and ends the claim in one transaction; false when the lease was lost. */
  readonly finish: (
    delivery: ClaimedDelivery,
    attempt: Omit<DeliveryAttempt, "attempt">,
    outcome: DeliveryOutcome
  ) => Effect.Effect<boolean, SqlError>
  /** Hands a claim back unfinished (shutdown): due at once, and the attempt does not count. */
  readonly release: (delivery: ClaimedDelivery) => Effect.Effect<void, SqlError>
}

const toWebhook = (r: any): Webhook => ({
  id: r.id,
  tenantId: r.tenant_id,
  url: r.url,
  events: fromJson<ReadonlyArray<string>>(r.events),
  createdAt: toIso(r.created_at),
  rotatedAt: toIsoOrNull(r.rotated_at)
})

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const audit = yield* AuditLog

  const record = (by: Actor, action: string, subject: string, detail: Record<string, unknown> = {}) =>
    audit.record({
      tenantId: by.tenantId,
      actor: by.actor,
      action,
      subject,
      detail,
      ...(by.source === undefined ? {} : { source: by.source })
    })

  const create: WebhooksShape["create"] = (by, hook) =>
    Effect.gen(function* () {
      const id = newId()
      const rows = yield* sql`
        INSERT INTO webhooks (id, tenant_id, url, events, secret)
        VALUES (${id}, ${by.tenantId}, ${hook.url}, ${JSON.stringify(hook.events)}::jsonb, ${hook.secret})
        RETURNING *`
      yield* record(by, "webhook.create", id, { url: hook.url, events: hook.events })
      return toWebhook(rows[0])
    }).pipe(sql.withTransaction, Effect.withSpan("Webhooks.create"))

  const list: WebhooksShape["list"] = (tenantId) =>
    sql`SELECT * FROM webhooks WHERE tenant_id = ${tenantId} ORDER BY created_at, id`.pipe(
      Effect.map((rows) => rows.map(toWebhook)),
      Effect.withSpan("Webhooks.list")
    )

  const count: WebhooksShape["count"] = (tenantId) =>
    sql<{ n: number }>`SELECT count(*)::int AS n FROM webhooks WHERE tenant_id = ${tenantId}`.pipe(
      Effect.map((rows) => rows[0]?.n ?? 0)
    )

  const get: WebhooksShape["get"] = (tenantId, id) =>
    isId(id)
      ? sql`SELECT * FROM webhooks WHERE id = ${id} AND tenant_id = ${tenantId}`.pipe(
          Effect.map((rows) => (rows[0] === undefined ? Option.none() : Option.some(toWebhook(rows[0]))))
        )
      : Effect.succeed(Option.none())

  const remove: WebhooksShape["remove"] = (by, id) =>
    isId(id)
      ? Effect.gen(function* () {
          const rows = yield* sql`
            DELETE FROM webhooks WHERE id = ${id} AND tenant_id = ${by.tenantId} RETURNING url`
          if (rows.length === 0) return false
          yield* record(by, "webhook.delete", id, { url: (rows[0] as any).url })
          return true
        }).pipe(sql.withTransaction, Effect.withSpan("Webhooks.remove"))
      : Effect.succeed(false)

  const rotate: WebhooksShape["rotate"] = (by, id, secret) =>
    isId(id)
      ? Effect.gen(function* () {
          const rows = yield* sql`
            UPDATE webhooks SET secret = ${secret}, rotated_at = now()
            WHERE id = ${id} AND tenant_id = ${by.tenantId} RETURNING id`
          if (rows.length === 0) return false
          yield* record(by, "webhook.rotate", id)
          return true
        }).pipe(sql.withTransaction, Effect.withSpan("Webhooks.rotate"))
      : Effect.succeed(false)

  const deliveries: WebhooksShape["deliveries"] = (webhookId, limit) =>
    Effect.gen(function* () {
      const rows = yield* sql`
        SELECT * FROM webhook_deliveries WHERE webhook_id = ${webhookId} ORDER BY seq DESC LIMIT ${limit}`
      if (rows.length === 0) return []
      const ids = rows.map((r: any) => r.id as string)
      const attempts = yield* sql`
        SELECT * FROM webhook_attempts WHERE delivery_id IN ${sql.in(ids)} ORDER BY delivery_id, attempt`
      const byDelivery = new Map<string, Array<DeliveryAttempt>>()
      for (const a of attempts as ReadonlyArray<any>) {
        const list = byDelivery.get(a.delivery_id) ?? []
        list.push({
          attempt: a.attempt,
          at: toIso(a.at),
          durationMs: a.duration_ms,
          responseStatus: a.response_status ?? null,
          responseBody: a.response_body ?? null,
          error: a.error ?? null
        })
        byDelivery.set(a.delivery_id, list)
      }
      return rows.map(
        (r: any): Delivery => ({
          id: r.id,
          eventId: r.event_id,
          type: r.type,
          interviewId: r.interview_id,
          state: r.state,
          attempts: byDelivery.get(r.id) ?? [],
          nextAttemptAt: r.state === "pending" || r.state === "running" ? toIso(r.next_attempt_at) : null,
          lastError: r.last_error ?? null,
          createdAt: toIso(r.created_at)
        })
      )
    }).pipe(Effect.withSpan("Webhooks.deliveries"))

  const claim: WebhooksShape["claim"] = (options) =>
    Effect.gen(function* () {
      const owner = crypto.randomUUID()
      const claimed = yield* sql`
        UPDATE webhook_deliveries SET
          state = 'running',
          attempts = attempts + 1,
          lease_owner = ${owner},
          lease_until = now() + ${Math.round(options.leaseMs)}::int * interval '1 millisecond',
          updated_at = now()
        WHERE id IN (
          SELECT d.id FROM webhook_deliveries d
          WHERE ((d.state = 'pending' AND d.next_attempt_at <= now()) OR (d.state = 'running' AND d.lease_until <= now()))
            AND NOT EXISTS (
              SELECT 1 FROM webhook_deliveries e
              WHERE e.webhook_id = d.webhook_id AND e.interview_id = d.interview_id AND e.seq < d.seq
                AND e.state IN ('pending', 'running'))
          ORDER BY d.next_attempt_at, d.seq
          LIMIT ${options.limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING id`
      if (claimed.length === 0) return []
      const ids = claimed.map((r: any) => r.id as string)
      const rows = yield* sql`
        SELECT d.*, w.url, w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
        WHERE d.id IN ${sql.in(ids)} ORDER BY d.seq`
      return rows.map(
        (r: any): ClaimedDelivery => ({
          id: r.id,
          webhookId: r.webhook_id,
          tenantId: r.tenant_id,
          eventId: r.event_id,
          type: r.type,
          interviewId: r.interview_id,
          data: fromJson<Record<string, unknown>>(r.data),
          createdAt: toIso(r.created_at),
          attempts: r.attempts,
          url: r.url,
          secret: r.secret,
          owner
        })
      )
    }).pipe(Effect.withSpan("Webhooks.claim"))

  const finish: WebhooksShape["finish"] = (delivery, attempt, outcome) => {
    const error = outcome.state === "delivered" ? null : outcome.reason
    const delay = outcome.state === "pending" ? Math.max(0, Math.round(outcome.retryInMs)) : 0
    return Effect.gen(function* () {
      const ended = yield* sql`
        UPDATE webhook_deliveries SET state = ${outcome.state}, last_error = ${error}, lease_owner = NULL,
          lease_until = NULL, next_attempt_at = now() + ${delay}::int * interval '1 millisecond', updated_at = now()
        WHERE id = ${delivery.id} AND lease_owner = ${delivery.owner} AND state = 'running'
        RETURNING id`
      if (ended.length === 0) return false
      yield* sql`
        INSERT INTO webhook_attempts (delivery_id, attempt, at, duration_ms, response_status, response_body, error)
        VALUES (${delivery.id}, ${delivery.attempts}, ${attempt.at}::timestamptz, ${Math.round(attempt.durationMs)},
                ${attempt.responseStatus}, ${attempt.responseBody}, ${attempt.error})
        ON CONFLICT (delivery_id, attempt) DO NOTHING`
      return true
    }).pipe(sql.withTransaction, Effect.withSpan("Webhooks.finish"))
  }

  const release: WebhooksShape["release"] = (delivery) =>
    sql`
      UPDATE webhook_deliveries SET state = 'pending', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL,
        lease_until = NULL, next_attempt_at = now(), updated_at = now()
      WHERE id = ${delivery.id} AND lease_owner = ${delivery.owner} AND state = 'running'`.pipe(Effect.asVoid)

  return {
    create,
    list,
    count,
    get,
    remove,
    rotate,
    deliveries,
    claim,
    finish,
    release
  } satisfies WebhooksShape
})

/** A tenant's webhooks and their delivery outbox, over the configured database. */
export class Webhooks extends Context.Service<Webhooks, WebhooksShape>()("candor/store/Webhooks") {
  static readonly layer = Layer.effect(Webhooks, make)
}
