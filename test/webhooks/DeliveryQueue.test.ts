/**
 * The delivery outbox at the database level, on every backend: what the triggers enqueue (and when: a report is
 * ready only once its last scoring job ends), per-interview order (a later event waits until the earlier one is
 * delivered or has failed for good), giving up after the retry window, and the lease fence.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { ReportLinks } from "../../src/actors/ReportLinks.ts"
import { AppConfig } from "../../src/config.ts"
import { storageLayer } from "../../src/main.ts"
import { Metrics } from "../../src/Metrics.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { Tenants } from "../../src/store/Tenants.ts"
import { Webhooks } from "../../src/store/Webhooks.ts"
import { DeliveryWorker, defaultWebhookSettings, retryDelayMs } from "../../src/webhooks/DeliveryWorker.ts"
import { backends } from "../support/Backends.ts"
import { quiet } from "../support/TestServer.ts"

const allEvents = ["interview.started", "interview.finished", "report.ready", "interview.erased"]

const settings = {
  ...defaultWebhookSettings,
  allowPrivateNetworks: true,
  firstRetryMs: 40,
  giveUpAfterMs: 2_500,
  timeoutMs: 2_000
}

describe("retry delays", () => {
  it("start near the first delay, about double each time, and stay under the cap", () => {
    const s = { ...defaultWebhookSettings }
    expect(retryDelayMs(s, 1, 0)).toBe(3_750)
    expect(retryDelayMs(s, 1, 1)).toBe(6_250)
    expect(retryDelayMs(s, 2, 0.5)).toBe(10_000)
    expect(retryDelayMs(s, 3, 0.5)).toBe(20_000)
    expect(retryDelayMs(s, 40, 1)).toBe(s.maxRetryMs * 1.25)
  })
})

for (const backend of backends()) {
  describe(`webhook outbox on ${backend.name}`, () => {
    let scope: Scope.Closeable
    let run: <A, E>(effect: Effect.Effect<A, E, any>) => Promise<A>
    let receiver: Http.Server
    let url: string
    const received: Array<{ type: string; interviewId: string }> = []
    let tenantId: string

    const sql = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
      run(Effect.flatMap(SqlClient.SqlClient, f))
    const newInterview = (questions = 0) =>
      run(
        Effect.flatMap(Interviews, (i) =>
          i.create(
            tenantId,
            {
              candidate: { name: "Queue Test" },
              questions: Array.from({ length: Math.max(questions, 1) }, (_, n) => ({ prompt: `Question ${n}` }))
            },
            false
          )
        )
      ).then((i) => i.id)
    const setStatus = (id: string, status: string) =>
      sql((s) => s`UPDATE interviews SET status = ${status} WHERE id = ${id}`)
    const deliveries = (interviewId: string) =>
      sql(
        (s) =>
          s<{ type: string; state: string; data: unknown; attempts: number; last_error: string | null }>`
          SELECT type, state, data, attempts, last_error FROM webhook_deliveries
          WHERE interview_id = ${interviewId} ORDER BY seq`
      )

    beforeAll(async () => {
      receiver = Http.createServer((req, res) => {
        let body = ""
        req.on("data", (c) => (body += c))
        req.on("end", () => {
          const event = JSON.parse(body) as { type: string; data: { interviewId: string } }
          const type = event.type
          received.push({ type, interviewId: event.data.interviewId })
          // The receiver never takes an interview's start: it fails until the delivery is given up.
          res.writeHead(type === "interview.started" ? 503 : 200).end()
        })
      })
      await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
      url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/in`
      const layer = DeliveryWorker.layer(settings).pipe(
        Layer.provideMerge(
          Layer.mergeAll(
            Metrics.layer,
            Layer.succeed(ReportLinks, (id: string) => `r/${id}`)
          )
        ),
        Layer.provideMerge(storageLayer),
        Layer.provideMerge(AppConfig.layerFromRecord(await backend.env())),
        Layer.provideMerge(quiet)
      )
      scope = await Effect.runPromise(Scope.make())
      const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
      run = (effect) => Effect.runPromise(Effect.provide(effect, context) as Effect.Effect<any, any>)
      tenantId = (await run(Effect.flatMap(Tenants, (t) => t.create({ name: "Outbox", region: "other" })))).id
      await run(
        Effect.flatMap(Webhooks, (w) =>
          w.create({ tenantId, actor: "system" }, { url, events: allEvents, secret: "whsec_test" })
        )
      )
    })
    afterAll(async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await new Promise((resolve) => receiver.close(resolve))
      await backend.cleanup()
    })

    it("enqueues started and finished from status changes, and report.ready once the last scoring job ends", async () => {
      const id = await newInterview(2)
      const questions = await sql((s) => s<{ id: string }>`SELECT id FROM questions WHERE interview_id = ${id}`)
      for (const [n, q] of questions.entries()) {
        await sql(
          (s) => s`
          INSERT INTO answers (id, interview_id, question_id, source, body, idempotency_key)
          VALUES (${crypto.randomUUID()}, ${id}, ${q.id}, 'text', 'an answer', ${`${id}:${n}`})`
        )
      }
      // Straight from scheduled to finished (one write-behind batch can do that): both events, in order.
      await setStatus(id, "finished")
      expect((await deliveries(id)).map((d) => d.type)).toEqual(["interview.started", "interview.finished"])
      await sql(
        (s) => s`UPDATE scoring_jobs SET state = 'done' WHERE answer_id = (
        SELECT answer_id FROM scoring_jobs WHERE interview_id = ${id} ORDER BY answer_id LIMIT 1)`
      )
      expect(await deliveries(id)).toHaveLength(2)
      await sql((s) => s`UPDATE scoring_jobs SET state = 'failed' WHERE interview_id = ${id} AND state <> 'done'`)
      const rows = await deliveries(id)
      expect(rows.map((d) => d.type)).toEqual(["interview.started", "interview.finished", "report.ready"])
      // Once per interview, however often the triggers fire.
      await sql((s) => s`UPDATE scoring_jobs SET state = 'pending' WHERE interview_id = ${id}`)
      await sql((s) => s`UPDATE scoring_jobs SET state = 'done' WHERE interview_id = ${id}`)
      expect(await deliveries(id)).toHaveLength(3)
    })

    it.skipIf(backend.name === "embedded")(
      "emits report.ready when the last scoring job ends while the interview's end is being committed",
      async () => {
        const id = await newInterview()
        const [q] = await sql((s) => s<{ id: string }>`SELECT id FROM questions WHERE interview_id = ${id}`)
        await sql(
          (s) => s`
          INSERT INTO answers (id, interview_id, question_id, source, body, idempotency_key)
          VALUES (${crypto.randomUUID()}, ${id}, ${q!.id}, 'text', 'an answer', ${`${id}:race`})`
        )
        await setStatus(id, "in_progress")
        // The end of the interview is committed while its last scoring job ends in another transaction: each sees
        // the other's change as not made yet, unless one waits for the other.
        await sql((s) =>
          Effect.all(
            [
              s`UPDATE interviews SET status = 'finished' WHERE id = ${id}`.pipe(
                Effect.andThen(s`SELECT pg_sleep(0.4)`),
                s.withTransaction
              ),
              Effect.sleep(100).pipe(
                Effect.andThen(s`UPDATE scoring_jobs SET state = 'done' WHERE interview_id = ${id}`),
                s.withTransaction
              )
            ],
            { concurrency: 2 }
          )
        )
        expect((await deliveries(id)).map((d) => d.type)).toEqual([
          "interview.started",
          "interview.finished",
          "report.ready"
        ])
      }
    )

    it("holds an interview's later events until the earlier one has failed for good, then delivers them", async () => {
      const id = await newInterview()
      await setStatus(id, "in_progress")
      await setStatus(id, "abandoned")
      const queued = await deliveries(id)
      expect(queued.map((d) => d.type)).toEqual(["interview.started", "interview.finished", "report.ready"])
      expect(queued[1]!.data).toMatchObject({ interviewId: id, status: "abandoned" })

      const started = Date.now()
      while (Date.now() - started < 15_000) {
        const rows = await deliveries(id)
        if (rows.every((d) => d.state === "delivered" || d.state === "failed")) break
        const n = await run(Effect.flatMap(DeliveryWorker, (w) => w.runOnce(10)))
        if (n === 0) await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const rows = await deliveries(id)
      expect(rows.map((d) => d.state)).toEqual(["failed", "delivered", "delivered"])
      expect(rows[0]!.attempts).toBeGreaterThanOrEqual(2)
      expect(rows[0]!.last_error).toMatch(/^gave up after \d+ attempts: HTTP 503$/)
      const types = received.filter((r) => r.interviewId === id).map((r) => r.type)
      const lastStart = types.lastIndexOf("interview.started")
      expect(types.slice(lastStart + 1)).toEqual(["interview.finished", "report.ready"])
      expect(types.slice(0, lastStart + 1).every((t) => t === "interview.started")).toBe(true)
    })

    it("fences the end of a claim by its lease", async () => {
      const id = await newInterview()
      await setStatus(id, "in_progress")
      const store = await run(Effect.service(Webhooks))
      const [first] = await run(store.claim({ limit: 10, leaseMs: 1 }))
      expect(first?.interviewId).toBe(id)
      await new Promise((resolve) => setTimeout(resolve, 20))
      const [second] = await run(store.claim({ limit: 10, leaseMs: 60_000 }))
      expect(second?.id).toBe(first!.id)
      expect(second!.attempts).toBe(2)
      const attempt = {
        at: new Date().toISOString(),
        durationMs: 1,
        responseStatus: 200,
        responseBody: null,
        error: null
      }
      expect(await run(store.finish(first!, attempt, { state: "delivered" }))).toBe(false)
      expect(await run(store.finish(second!, attempt, { state: "delivered" }))).toBe(true)
      const list = await run(store.deliveries(first!.webhookId, 500))
      expect(list.find((d) => d.id === first!.id)?.attempts.map((a) => a.attempt)).toEqual([2])
    })
  })
}
