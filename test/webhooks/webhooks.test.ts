/**
 * Webhooks end to end, on every backend: a receiver on loopback (allowed by WEBHOOK_ALLOW_PRIVATE_NETWORKS) that
 * fails the first delivery gets a correctly signed retry within seconds; an interview's events arrive in order;
 * the deliveries list shows every attempt; rotation changes the signing secret at once; deleting a webhook stops
 * its deliveries; another tenant can neither see nor change it; without the variable private targets are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { verify } from "../../src/webhooks/Signature.ts"
import { backends } from "../support/Backends.ts"
import { consentToAll } from "../support/Consent.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

const allEvents = ["interview.started", "interview.finished", "report.ready", "interview.erased"]

interface Received {
  readonly path: string
  readonly signature: string
  readonly userAgent: string
  readonly body: string
  readonly event: { id: string; type: string; createdAt: string; tenantId: string; data: Record<string, any> }
  readonly status: number
  readonly at: number
}

/** A webhook receiver on loopback: answers 500 to the first request of each path in `failFirst`, else 204. */
const startReceiver = async (failFirst: ReadonlyArray<string>) => {
  const received: Array<Received> = []
  const seen = new Set<string>()
  const server = Http.createServer((req, res) => {
    let body = ""
    req.on("data", (c) => (body += c))
    req.on("end", () => {
      const path = req.url ?? "/"
      const status = failFirst.includes(path) && !seen.has(path) ? 500 : 204
      seen.add(path)
      received.push({
        path,
        signature: String(req.headers["candor-signature"] ?? ""),
        userAgent: String(req.headers["user-agent"] ?? ""),
        body,
        event: JSON.parse(body),
        status,
        at: Date.now()
      })
      res.writeHead(status).end(status === 500 ? "not yet" : undefined)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    received,
    at: (path: string) => received.filter((r) => r.path === path),
    close: () => new Promise((resolve) => server.close(resolve))
  }
}

const until = async <A>(what: string, probe: () => A | undefined | Promise<A | undefined>, timeoutMs = 20_000) => {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

for (const backend of backends()) {
  describe(`webhooks on ${backend.name}`, () => {
    let server: TestServer
    let receiver: Awaited<ReturnType<typeof startReceiver>>
    let admin: string
    let hook: { id: string; secret: string }
    let interviewId: string

    const call = (path: string, key: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers)
      headers.set("authorization", `Bearer ${key}`)
      if (typeof init.body === "string") headers.set("content-type", "application/json")
      return fetch(`${server.url}${path}`, { ...init, headers })
    }
    const post = (path: string, key: string, body?: unknown) =>
      call(path, key, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }) })

    /** A new interview of the admin's tenant, answered and finished by its candidate. */
    const runInterview = async (finish = true) => {
      const created = await post("/v1/interviews", admin, {
        candidate: { name: "Hook Test" },
        questions: [{ prompt: "Describe a system you scaled.", expectedPoints: ["cache"] }]
      })
      expect(created.status).toBe(201)
      const { id, candidateToken } = (await created.json()) as { id: string; candidateToken: string }
      await consentToAll(server.url, { interviewId: id, candidateToken })
      const detail = (await (await call(`/v1/interviews/${id}`, admin)).json()) as { questions: Array<{ id: string }> }
      const answered = await post(`/v1/interviews/${id}/answers`, candidateToken, {
        questionId: detail.questions[0]!.id,
        text: "We measured first, then added a cache and horizontal scaling behind the load balancer."
      })
      expect(answered.status).toBe(201)
      if (finish) expect((await post(`/v1/interviews/${id}/finish`, candidateToken)).status).toBe(200)
      return id
    }

    const deliveryRows = (webhookId: string) =>
      server.run(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ n: number }>`SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = ${webhookId}`.pipe(
            Effect.map((rows) => rows[0]!.n)
          )
        )
      )

    beforeAll(async () => {
      receiver = await startReceiver(["/flaky"])
      server = await startServer({
        ...(await backend.env()),
        TOKEN_SECRET: "t".repeat(40),
        INFERENCE_WORKERS: "1",
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
        WEBHOOK_FIRST_RETRY_MS: "300"
      })
      admin = (await server.seed()).apiKey
    })
    afterAll(async () => {
      await server?.close()
      await receiver?.close()
      await backend.cleanup()
    })

    it("retries a failed first delivery with a correctly signed request, and delivers an interview's events in order", async () => {
      const created = await post("/v1/webhooks", admin, { url: `${receiver.url}/flaky`, events: allEvents })
      expect(created.status).toBe(201)
      hook = (await created.json()) as { id: string; secret: string }
      expect(hook.secret).toMatch(/^whsec_/)

      interviewId = await runInterview()
      const flaky = await until("report.ready", () => {
        const got = receiver.at("/flaky")
        return got.some((r) => r.event.type === "report.ready") ? got : undefined
      })
      // The first attempt failed with 500; the same event came again, signed, well within 10 s.
      expect(flaky.map((r) => [r.event.type, r.status])).toEqual([
        ["interview.started", 500],
        ["interview.started", 204],
        ["interview.finished", 204],
        ["report.ready", 204]
      ])
      const [first, retry] = flaky
      expect(retry!.event.id).toBe(first!.event.id)
      expect(retry!.at - first!.at).toBeLessThan(10_000)
      const now = Math.floor(Date.now() / 1000)
      for (const r of flaky) {
        expect(verify(hook.secret, r.signature, r.body, now)).toBe(true)
        expect(r.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
        expect(r.userAgent).toMatch(/^Candor-Webhooks\//)
        expect(r.event.data.interviewId).toBe(interviewId)
      }
      expect(verify("whsec_wrong", retry!.signature, retry!.body, now)).toBe(false)
      expect(new Set(flaky.slice(1).map((r) => r.event.id)).size).toBe(3)
      expect(flaky[2]!.event.data.status).toBe("finished")
      expect(flaky[3]!.event.data.reportUrl).toBe(`${server.url}/v1/interviews/${interviewId}/report`)

      // The deliveries list shows both attempts of the first event.
      const list = (await (await call(`/v1/webhooks/${hook.id}/deliveries`, admin)).json()) as { items: Array<any> }
      expect(list.items.map((d) => d.type)).toEqual(["report.ready", "interview.finished", "interview.started"])
      const started = list.items[2]
      expect(started).toMatchObject({ state: "delivered", eventId: first!.event.id, interviewId, nextAttemptAt: null })
      expect(started.attempts.map((a: any) => [a.attempt, a.responseStatus, a.error])).toEqual([
        [1, 500, "HTTP 500"],
        [2, 204, null]
      ])
      expect(started.attempts[0].responseBody).toBe("not yet")
      for (const a of started.attempts) {
        expect(a.durationMs).toBeGreaterThanOrEqual(0)
        expect(Number.isNaN(Date.parse(a.at))).toBe(false)
      }

      const audit = (await (await call(`/v1/audit?action=webhook.create`, admin)).json()) as { items: Array<any> }
      expect(audit.items.map((e) => e.subject)).toContain(hook.id)
    })

    it("signs with the new secret only, at once, after a rotation (the erasure event)", async () => {
      const rotated = await post(`/v1/webhooks/${hook.id}/rotate`, admin)
      expect(rotated.status).toBe(200)
      const { secret } = (await rotated.json()) as { secret: string }
      expect(secret).not.toBe(hook.secret)
      expect((await call(`/v1/interviews/${interviewId}`, admin, { method: "DELETE" })).status).toBe(204)
      const erased = await until("interview.erased", () =>
        receiver.at("/flaky").find((r) => r.event.type === "interview.erased")
      )
      const now = Math.floor(Date.now() / 1000)
      expect(erased.event.data).toMatchObject({ interviewId, reason: "request" })
      expect(verify(secret, erased.signature, erased.body, now)).toBe(true)
      expect(verify(hook.secret, erased.signature, erased.body, now)).toBe(false)
      hook = { ...hook, secret }
    })

    it("keeps webhooks to their tenant and their secrets out of lists", async () => {
      const other = (await server.seed()).apiKey
      const list = await call("/v1/webhooks", other)
      expect(((await list.json()) as any).items).toEqual([])
      expect((await call(`/v1/webhooks/${hook.id}/deliveries`, other)).status).toBe(404)
      expect((await post(`/v1/webhooks/${hook.id}/rotate`, other)).status).toBe(404)
      expect((await call(`/v1/webhooks/${hook.id}`, other, { method: "DELETE" })).status).toBe(404)
      expect((await call("/v1/webhooks/not-an-id", other, { method: "DELETE" })).status).toBe(404)

      const mine = await (await call("/v1/webhooks", admin)).text()
      expect(JSON.parse(mine).items.map((w: any) => w.id)).toEqual([hook.id])
      expect(mine).not.toContain(hook.secret)
      expect(mine).not.toContain("whsec_")

      const key = await post("/v1/keys", admin, { role: "recruiter", label: "not an admin" })
      const recruiter = ((await key.json()) as { apiKey: string }).apiKey
      expect((await post("/v1/webhooks", recruiter, { url: `${receiver.url}/x`, events: allEvents })).status).toBe(403)
      expect((await call("/v1/webhooks", recruiter)).status).toBe(403)

      const bad = await post("/v1/webhooks", admin, { url: `${receiver.url}/x`, events: ["interview.exploded"] })
      expect(bad.status).toBe(400)
      const creds = await post("/v1/webhooks", admin, { url: "http://u:p@example.com/", events: allEvents })
      expect(creds.status).toBe(400)
      expect(((await creds.json()) as any).error.message).toContain("credentials")
    })

    it("stops delivering once a webhook is deleted", async () => {
      const sentinel = await post("/v1/webhooks", admin, { url: `${receiver.url}/sentinel`, events: allEvents })
      const sentinelId = ((await sentinel.json()) as { id: string }).id
      const before = receiver.at("/flaky").length
      expect((await call(`/v1/webhooks/${hook.id}`, admin, { method: "DELETE" })).status).toBe(204)
      expect((await call(`/v1/webhooks/${hook.id}/deliveries`, admin)).status).toBe(404)
      const id = await runInterview()
      await until("the sentinel's report.ready", () =>
        receiver.at("/sentinel").find((r) => r.event.type === "report.ready" && r.event.data.interviewId === id)
      )
      expect(receiver.at("/flaky")).toHaveLength(before)
      expect(await deliveryRows(hook.id)).toBe(0)
      expect(await deliveryRows(sentinelId)).toBe(3)
    })
  })
}

describe("webhook targets without WEBHOOK_ALLOW_PRIVATE_NETWORKS", () => {
  let server: TestServer
  let admin: string
  beforeAll(async () => {
    server = await startServer({
      PGLITE_DIR: ":memory:",
      CANDOR_DEMO: "false",
      TOKEN_SECRET: "t".repeat(40),
      INFERENCE_WORKERS: "1"
    })
    admin = (await server.seed()).apiKey
  })
  afterAll(async () => {
    await server?.close()
  })

  it("refuses private, loopback and link-local targets at registration with a clear message", async () => {
    for (const url of [
      "http://127.0.0.1:8080/hook",
      "http://[::1]/hook",
      "http://10.1.2.3/hook",
      "http://169.254.169.254/latest/meta-data",
      "http://[::ffff:127.0.0.1]/hook",
      "http://localhost:3000/hook"
    ]) {
      const r = await fetch(`${server.url}/v1/webhooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ url, events: ["report.ready"] })
      })
      expect(r.status, url).toBe(400)
      const error = ((await r.json()) as { error: { code: string; message: string } }).error
      expect(error.code).toBe("webhook_target_refused")
      expect(error.message, url).toMatch(/loopback|private|link-local/)
      expect(error.message).toContain("webhooks must reach a public address")
    }
    const list = await fetch(`${server.url}/v1/webhooks`, { headers: { authorization: `Bearer ${admin}` } })
    expect(((await list.json()) as any).items).toEqual([])
  })
})
