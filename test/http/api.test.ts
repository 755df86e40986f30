import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Validator } from "@seriousme/openapi-schema-validator"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

const interviewBody = {
  candidate: { name: "Grace Hopper", email: "grace@example.com" },
  questions: [
    {
      prompt: "How would you design a rate limiter?",
      rubric: {
        criteria: [
          {
            id: "design",
            name: "Design",
            weight: 2,
            levels: { "1": "no design", "5": "token bucket with trade-offs" }
          },
          { id: "clarity", name: "Clarity" }
        ]
      },
      expectedPoints: ["token bucket", "distributed counters"]
    },
    { prompt: "Tell us about a bug you are proud of fixing." }
  ]
}

for (const backend of backends()) {
  describe(`recruiter API on ${backend.name}`, () => {
    let server: TestServer
    let key: string
    let otherKey: string
    let otherInterview: string
    const call = (path: string, init: RequestInit & { key?: string | null } = {}) => {
      const headers = new Headers(init.headers)
      const k = init.key === undefined ? key : init.key
      if (k !== null) headers.set("authorization", `Bearer ${k}`)
      if (typeof init.body === "string" && !headers.has("content-type")) headers.set("content-type", "application/json")
      return fetch(`${server.url}${path}`, { ...init, headers })
    }

    beforeAll(async () => {
      server = await startServer({ ...(await backend.env()), TOKEN_SECRET: "x".repeat(40), INFERENCE_WORKERS: "1" })
      key = (await server.seed()).apiKey
      const other = await server.seed()
      otherKey = other.apiKey
      otherInterview = other.interviewId
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("creates an interview with questions and rubrics and reads it back", async () => {
      const created = await call("/v1/interviews", { method: "POST", body: JSON.stringify(interviewBody) })
      expect(created.status).toBe(201)
      const body = (await created.json()) as { id: string; candidateToken: string; joinUrl: string; streamUrl: string }
      // The candidate page, its token in the fragment (never sent to a server); the socket address beside it.
      expect(body.joinUrl).toBe(`${server.url}/join/${body.id}#token=${encodeURIComponent(body.candidateToken)}`)
      expect(body.streamUrl).toBe(`${server.url.replace("http", "ws")}/v1/interviews/${body.id}/stream`)
      const read = await call(`/v1/interviews/${body.id}`)
      expect(read.status).toBe(200)
      const interview = (await read.json()) as any
      expect(interview).not.toHaveProperty("tenantId")
      expect(interview.candidate).toEqual({ name: "Grace Hopper", email: "grace@example.com" })
      expect(interview.status).toBe("scheduled")
      expect(interview.affectSignals).toBe(true)
      expect(interview.questions.map((q: any) => q.prompt)).toEqual(interviewBody.questions.map((q) => q.prompt))
      expect(interview.questions[0].rubric.criteria[1]).toEqual({ id: "clarity", name: "Clarity", weight: 1 })
      expect(interview.questions[0].expectedPoints).toEqual(["token bucket", "distributed counters"])
      expect(interview.questions[1].rubric).toBeNull()
    })

    it("lists interviews newest first with cursor paging", async () => {
      const ids: Array<string> = []
      for (let i = 0; i < 5; i++) {
        const r = await call("/v1/interviews", {
          method: "POST",
          body: JSON.stringify({ ...interviewBody, candidate: { name: `Paged ${i}` } })
        })
        ids.push(((await r.json()) as { id: string }).id)
      }
      const seen: Array<string> = []
      let cursor: string | null = null
      let pages = 0
      do {
        const r: Response = await call(`/v1/interviews?limit=2${cursor === null ? "" : `&cursor=${cursor}`}`)
        expect(r.status).toBe(200)
        const page = (await r.json()) as { items: Array<{ id: string }>; nextCursor: string | null }
        expect(page.items.length).toBeLessThanOrEqual(2)
        seen.push(...page.items.map((i) => i.id))
        cursor = page.nextCursor
        pages++
      } while (cursor !== null && pages < 50)
      expect(new Set(seen).size).toBe(seen.length)
      // Newest first: the five just created appear in reverse creation order.
      const positions = ids.map((id) => seen.indexOf(id))
      expect(positions.every((p) => p >= 0)).toBe(true)
      expect([...positions].sort((a, b) => b - a)).toEqual(positions)
      expect(seen).not.toContain(otherInterview)
    })

    it("never shows another tenant's interview", async () => {
      expect((await call(`/v1/interviews/${otherInterview}`)).status).toBe(404)
      expect((await call(`/v1/interviews/${otherInterview}`, { method: "DELETE" })).status).toBe(404)
      expect((await call(`/v1/interviews/${otherInterview}`, { key: otherKey })).status).toBe(200)
    })

    it("refuses missing and wrong keys with 401", async () => {
      for (const k of [null, "cnd_wrong", "not-a-key"]) {
        const r = await call("/v1/interviews", { key: k })
        expect(r.status).toBe(401)
        expect(((await r.json()) as any).error.code).toBe("unauthorized")
      }
    })

    it("names the offending field in validation errors and writes nothing", async () => {
      const before = ((await (await call("/v1/interviews?limit=200")).json()) as any).items.length
      const cases: Array<[unknown, string]> = [
        [{ ...interviewBody, candidate: { name: "" } }, "candidate.name"],
        [{ ...interviewBody, candidate: { name: "A", email: "nope" } }, "candidate.email"],
        [{ ...interviewBody, questions: [] }, "questions"],
        [{ ...interviewBody, questions: [{ prompt: "x", rubric: { criteria: [{ id: "Bad Id", name: "n" }] } }] }, "id"],
        [{ ...interviewBody, surprise: true }, "surprise"],
        [{ candidate: { name: "A" } }, "questions"]
      ]
      for (const [body, field] of cases) {
        const r = await call("/v1/interviews", { method: "POST", body: JSON.stringify(body) })
        expect(r.status).toBe(400)
        const error = ((await r.json()) as any).error
        expect(error.code).toBe("validation_error")
        expect(error.message).toContain(field)
      }
      const after = ((await (await call("/v1/interviews?limit=200")).json()) as any).items.length
      expect(after).toBe(before)
    })

    it("answers malformed requests with clear 4xx errors", async () => {
      const malformed = await call("/v1/interviews", { method: "POST", body: "{" })
      expect(malformed.status).toBe(400)
      expect(((await malformed.json()) as any).error.code).toBe("invalid_json")
      const wrongType = await call("/v1/interviews", {
        method: "POST",
        body: JSON.stringify(interviewBody),
        headers: { "content-type": "text/plain" }
      })
      expect(wrongType.status).toBe(415)
      const big = await call("/v1/interviews", { method: "POST", body: JSON.stringify({ pad: "x".repeat(2_000_000) }) })
      expect(big.status).toBe(413)
      const method = await call("/v1/interviews", { method: "PUT", body: "{}" })
      expect(method.status).toBe(405)
      expect(method.headers.get("allow")).toContain("POST")
      expect((await call("/v1/nowhere")).status).toBe(404)
      const badQuery = await call("/v1/interviews?limit=abc")
      expect(badQuery.status).toBe(400)
      expect(((await badQuery.json()) as any).error.message).toContain("limit")
      const badCursor = await call("/v1/interviews?cursor=bm9wZQ")
      expect(badCursor.status).toBe(400)
      expect((await call("/healthz")).status).toBe(200)
    })

    it("erases an interview with everything about it", async () => {
      const created = (await (
        await call("/v1/interviews", { method: "POST", body: JSON.stringify(interviewBody) })
      ).json()) as { id: string }
      expect((await call(`/v1/interviews/${created.id}`, { method: "DELETE" })).status).toBe(204)
      expect((await call(`/v1/interviews/${created.id}`)).status).toBe(404)
      expect((await call(`/v1/interviews/${created.id}`, { method: "DELETE" })).status).toBe(404)
    })

    it("reports readiness of its dependencies and serves metrics", async () => {
      const ready = await call("/readyz", { key: null })
      expect(ready.status).toBe(200)
      const body = (await ready.json()) as any
      expect(body.checks.database.ok).toBe(true)
      expect(body.checks.liveStore.ok).toBe(true)
      const metrics = await (await call("/metrics", { key: null })).text()
      expect(metrics).toMatch(/http_requests_total\{route="POST \/v1\/interviews",status="201"\} \d+/)
      expect(metrics).toContain("process_resident_memory_bytes")
      // Pool settings from the environment reach the pool; its queue and batches are exported.
      expect(metrics).toMatch(/^candor_pool_workers 1$/m)
      expect(metrics).toMatch(/^candor_pool_queue_depth \d+$/m)
    })

    it("publishes an OpenAPI 3.1 document that validates and documents every public route", async () => {
      const spec = (await (await call("/v1/openapi.json", { key: null })).json()) as any
      const result = await new Validator().validate(spec)
      expect(result.errors ?? []).toEqual([])
      expect(result.valid).toBe(true)
      expect(Object.keys(spec.paths)).toEqual(
        expect.arrayContaining(["/v1/interviews", "/v1/interviews/{id}", "/healthz", "/readyz", "/v1/openapi.json"])
      )
      expect(Object.keys(spec.paths)).not.toContain("/internal/seed")
      const create = spec.paths["/v1/interviews"].post
      expect(create.requestBody.content["application/json"].schema.additionalProperties).toBe(false)
      expect(JSON.stringify(create.requestBody)).toContain("criteria")
      expect(JSON.stringify(create.requestBody)).toContain("expectedPoints")
    })

    it("serves a docs page with no external resources", async () => {
      const page = await (await call("/docs", { key: null })).text()
      expect(page).toContain("/v1/openapi.json")
      expect(page).not.toMatch(/(src|href)=["']https?:/)
      expect(page).not.toMatch(/cdn|unpkg|jsdelivr/i)
    })
  })
}
