/**
 * The scheduler's interview jobs on both backends: a started interview whose candidate left and never came back is
 * marked abandoned after `ABANDON_AFTER_MINUTES` (its answers kept, its report final), while one whose candidate is
 * still connected is not; and a recruiter re-issues a join link that works, except for an interview that is over.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { consentToAll } from "../support/Consent.ts"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"
import { Client } from "../sessions/support/Candidate.ts"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const backend of backends()) {
  describe(`abandoned interviews and new join links on ${backend.name}`, () => {
    let server: TestServer
    let apiKey: string
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", ...init.headers }
      })
    const interview = async () => {
      const created = (await (
        await api("/v1/interviews", {
          method: "POST",
          body: JSON.stringify({
            candidate: { name: "Left Early" },
            questions: [{ prompt: "One?" }, { prompt: "Two?" }]
          })
        })
      ).json()) as { id: string; candidateToken: string }
      await consentToAll(server.url, { interviewId: created.id, candidateToken: created.candidateToken })
      return created
    }
    const statusOf = async (id: string) => ((await (await api(`/v1/interviews/${id}`)).json()) as any).status

    beforeAll(async () => {
      server = await startServer({
        ...(await backend.env()),
        TOKEN_SECRET: "a".repeat(40),
        INFERENCE_WORKERS: "1",
        // 1.2 s without a candidate, swept every second.
        ABANDON_AFTER_MINUTES: "0.02",
        ABANDON_SWEEP_SECONDS: "1",
        JOB_POLL_MS: "100"
      })
      apiKey = (await server.seed()).apiKey
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("marks an interview abandoned once its candidate is gone, keeping its answers; not while one is connected", async () => {
      const [left, stayed] = [await interview(), await interview()]
      const wsUrl = server.url.replace("http", "ws")
      const a = await Client.candidate(wsUrl, left.id, left.candidateToken)
      a.send({ _tag: "start" })
      const q = await a.next("question", 0)
      a.send({ _tag: "answer", questionId: q.questionId, text: "A first answer before the network went." })
      await a.next("answerSaved", 0)
      a.close()
      const b = await Client.candidate(wsUrl, stayed.id, stayed.candidateToken)
      b.send({ _tag: "start" })
      await b.next("question", 0)

      const started = Date.now()
      while ((await statusOf(left.id)) !== "abandoned") {
        if (Date.now() - started > 20_000) throw new Error("the interview was not marked abandoned")
        await sleep(200)
      }
      const report = (await (await api(`/v1/interviews/${left.id}/report`)).json()) as any
      expect(report.status).toBe("abandoned")
      expect(report.questions[0].answer.text).toBe("A first answer before the network went.")
      // A late candidate finds it over.
      const late = await Client.connect(`${wsUrl}/v1/interviews/${left.id}/stream?token=${left.candidateToken}`).catch(
        (e) => e as { status: number }
      )
      expect((late as { status: number }).status).toBe(409)

      // The connected candidate is well past the abandon time, and still in the interview.
      await sleep(2500)
      expect(await statusOf(stayed.id)).toBe("in_progress")
      b.send({ _tag: "finish" })
      await b.next("finished", 0)
      b.close()
    })

    it("re-issues a join link that works, and refuses one for an interview that is over", async () => {
      const open = await interview()
      const issued = await api(`/v1/interviews/${open.id}/token`, { method: "POST" })
      expect(issued.status).toBe(201)
      const link = (await issued.json()) as any
      expect(link.joinUrl).toBe(`${server.url}/join/${open.id}#token=${encodeURIComponent(link.candidateToken)}`)
      const view = await fetch(`${server.url}/v1/interviews/${open.id}/candidate`, {
        headers: { authorization: `Bearer ${link.candidateToken}` }
      })
      expect(view.status).toBe(200)
      const finished = await fetch(`${server.url}/v1/interviews/${open.id}/finish`, {
        method: "POST",
        headers: { authorization: `Bearer ${link.candidateToken}` }
      })
      expect(finished.status).toBe(200)
      const again = await api(`/v1/interviews/${open.id}/token`, { method: "POST" })
      expect(again.status).toBe(409)
      expect(((await again.json()) as any).error.code).toBe("conflict")
    })
  })
}
