import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { AuditLog } from "../../src/store/AuditLog.ts"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

for (const backend of backends()) {
  describe(`consent records on ${backend.name}`, () => {
    let server: TestServer
    let seed: Awaited<ReturnType<TestServer["seed"]>>
    let other: Awaited<ReturnType<TestServer["seed"]>>
    const post = (id: string, token: string | undefined, body: unknown) =>
      fetch(`${server.url}/v1/interviews/${id}/consents`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
        },
        body: JSON.stringify(body)
      })

    beforeAll(async () => {
      server = await startServer({ ...(await backend.env()), TOKEN_SECRET: "k".repeat(40), INFERENCE_WORKERS: "1" })
      seed = await server.seed()
      other = await server.seed()
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("keeps every decision of the candidate, audited, and shows them to the interview's tenant only", async () => {
      const given = await post(seed.interviewId, seed.candidateToken, {
        kind: "affect_analysis",
        granted: true,
        noticeVersion: "2026-11"
      })
      expect(given.status).toBe(201)
      const withdrawn = await post(seed.interviewId, seed.candidateToken, {
        kind: "affect_analysis",
        granted: false,
        noticeVersion: "2026-11"
      })
      expect(withdrawn.status).toBe(201)
      const list = await fetch(`${server.url}/v1/interviews/${seed.interviewId}/consents`, {
        headers: { authorization: `Bearer ${seed.apiKey}` }
      })
      expect(list.status).toBe(200)
      const items = ((await list.json()) as { items: Array<{ kind: string; granted: boolean }> }).items
      expect(items.map((c) => [c.kind, c.granted])).toEqual([
        ["affect_analysis", true],
        ["affect_analysis", false]
      ])
      const audit = await server.run(Effect.flatMap(AuditLog, (a) => a.list(seed.tenantId, seed.interviewId)))
      expect(audit.map((e) => e.action).sort()).toEqual(["consent.grant", "consent.refuse", "consents.read"])
      const foreign = await fetch(`${server.url}/v1/interviews/${seed.interviewId}/consents`, {
        headers: { authorization: `Bearer ${other.apiKey}` }
      })
      expect(foreign.status).toBe(404)
    })

    it("refuses a missing or foreign token and an unknown kind, storing nothing", async () => {
      const body = { kind: "recording", granted: true, noticeVersion: "v1" }
      expect((await post(seed.interviewId, undefined, body)).status).toBe(401)
      expect((await post(seed.interviewId, "not-a-token", body)).status).toBe(401)
      expect((await post(seed.interviewId, other.candidateToken, body)).status).toBe(403)
      const bad = await post(seed.interviewId, seed.candidateToken, { ...body, kind: "mood" })
      expect(bad.status).toBe(400)
      expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("kind")
      const list = await fetch(`${server.url}/v1/interviews/${other.interviewId}/consents`, {
        headers: { authorization: `Bearer ${other.apiKey}` }
      })
      expect(((await list.json()) as { items: Array<unknown> }).items).toEqual([])
    })
  })
}
