import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Validator } from "@seriousme/openapi-schema-validator"
import { Effect } from "effect"
import { makeAnswersConfig } from "../../src/answers/AnswersConfig.ts"
import { AuditLog } from "../../src/store/AuditLog.ts"
import { MediaStore } from "../../src/store/MediaStore.ts"
import { backends } from "../support/Backends.ts"
import { startReportsServer } from "../support/ReportsServer.ts"
import type { TestServer } from "../support/TestServer.ts"
import { answer, type Client, client, completeReport, countRows, goodAnswers, questionIds } from "./support.ts"
import { consentToAll } from "../support/Consent.ts"

for (const backend of backends()) {
  describe(`answers and reports over HTTP, offline scoring, on ${backend.name}`, () => {
    let server: TestServer
    let c: Client
    let seeded: { tenantId: string; apiKey: string; interviewId: string; candidateToken: string }

    /** A fresh interview of the seeded tenant with its candidate token. */
    const newInterview = async () => {
      const r = await c.call("/v1/interviews", {
        method: "POST",
        body: JSON.stringify({
          candidate: { name: "Lin Example" },
          questions: [{ prompt: "What is a hash map?", expectedPoints: ["buckets", "hash function"] }]
        })
      })
      const body = (await r.json()) as { id: string; candidateToken: string }
      await consentToAll(server.url, { interviewId: body.id, candidateToken: body.candidateToken })
      const [questionId] = await questionIds(c, body.id)
      return { id: body.id, token: body.candidateToken, questionId: questionId! }
    }

    beforeAll(async () => {
      server = await startReportsServer(await backend.env(), makeAnswersConfig({ apiKeys: [], maxAudioBytes: 1024 }))
      seeded = await server.seed()
      await consentToAll(server.url, seeded)
      c = client(server, seeded.apiKey)
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("answers over HTTP, finishes, and yields a complete report with offline scores, JSON and HTML", async () => {
      const { interviewId, candidateToken } = seeded
      const ids = await questionIds(c, interviewId)
      for (const [i, id] of ids.entries()) {
        const r = await answer(c, candidateToken, interviewId, id, goodAnswers[i]!)
        expect(r.status).toBe(201)
        const body = (await r.json()) as any
        expect(body).toMatchObject({ questionId: id, source: "text", scoring: "queued", duplicate: false })
      }
      const finished = await c.call(`/v1/interviews/${interviewId}/finish`, { method: "POST", bearer: candidateToken })
      expect(finished.status).toBe(200)
      expect(((await finished.json()) as any).reportUrl).toBe(`${server.url}/v1/interviews/${interviewId}/report`)

      const report = await completeReport(c, interviewId)
      expect(report.status).toBe("finished")
      expect(report.scoring).toEqual({ answered: 2, scored: 2, pending: 0, failed: 0, unanswered: 0 })
      expect(report.signalsUsed).toEqual(["answers"])
      expect(report.humanDecision).toMatch(/A person makes the hiring decision/)
      for (const q of report.questions) {
        expect(q.scoring.status).toBe("scored")
        expect(q.score?.scorer).toBe("offline-heuristic")
        expect(q.score?.label).toBe("offline heuristic")
        expect(q.score?.criteria.length).toBeGreaterThan(0)
        for (const criterion of q.score!.criteria) {
          for (const quote of criterion.evidence) expect(q.answer!.text).toContain(quote)
        }
      }
      // The seeded first question has a weighted rubric of its own; the second uses the default one.
      expect(report.questions[0]!.score!.rubricSource).toBe("question")
      expect(report.questions[1]!.score!.rubricSource).toBe("default")
      expect(report.models.scorers).toEqual([
        {
          scorer: "offline-heuristic",
          label: "offline heuristic",
          model: "offline-heuristic-v1",
          promptVersion: "offline-heuristic-v1",
          temperature: 0
        }
      ])
      expect(report.models.vision).toBeNull()
      // No video: only answers carry weight, so the overall equals the mean answer score.
      const mean = (report.questions[0]!.score!.overall + report.questions[1]!.score!.overall) / 2
      expect(report.overall.score).toBeCloseTo(mean, 1)
      expect(report.overall.provisional).toBe(false)
      expect(report.overall.weightsSource).toBe("default")
      expect(report.overall.components.find((x) => x.signal === "answers")).toMatchObject({ weight: 0.8, share: 1 })
      expect(report.affect).toBeNull()
      expect(report.timeline).toEqual([])

      const page = await c.call(`/v1/interviews/${interviewId}/report.html`)
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toMatch(/^text\/html/)
      expect(page.headers.get("content-security-policy")).toContain("default-src 'none'")
      const html = await page.text()
      expect(html).toContain("Ada Demo")
      expect(html).toContain("offline heuristic")
      expect(html).toContain("A person makes the hiring decision")
      // Nothing from elsewhere and nothing inline: only the page's own stylesheet and review script.
      expect(html).not.toMatch(/src="http|href="http|@import|<style|style="|\son[a-z]+=/i)
      expect([...html.matchAll(/<script[^>]*>/gi)].map((m) => m[0])).toEqual([
        '<script type="module" src="/assets/report.js">'
      ])
      expect([...html.matchAll(/<link[^>]*>/gi)].map((m) => m[0])).toEqual([
        '<link rel="icon" href="data:,">',
        '<link rel="stylesheet" href="/assets/report.css">'
      ])
      expect(page.headers.get("content-security-policy")).not.toContain("unsafe-inline")
    })

    it("stores a human review, audits it, and lists it in the report", async () => {
      const { interviewId } = seeded
      const r = await c.call(`/v1/interviews/${interviewId}/reviews`, {
        method: "POST",
        body: JSON.stringify({
          reviewer: "Rita Recruiter",
          rating: 4,
          decision: "advance",
          notes: "Clear <b>thinking</b>."
        })
      })
      expect(r.status).toBe(201)
      const review = (await r.json()) as any
      expect(review).toMatchObject({ reviewer: "Rita Recruiter", rating: 4, decision: "advance" })
      const report = await completeReport(c, interviewId)
      expect(report.reviews.map((x) => x.id)).toEqual([review.id])
      const audit = await server.run(Effect.flatMap(AuditLog, (a) => a.list(seeded.tenantId, interviewId)))
      const entry = audit.find((e) => e.action === "review.create")
      expect(entry?.detail).toEqual({ reviewId: review.id, decision: "advance", rating: 4 })
      const html = await (await c.call(`/v1/interviews/${interviewId}/report.html`)).text()
      expect(html).toContain("Clear &lt;b&gt;thinking&lt;/b&gt;.")
      const list = (await (await c.call(`/v1/interviews/${interviewId}/reviews`)).json()) as any
      expect(list.items).toHaveLength(1)
    })

    it("refuses bad reviews with the field named, and stores nothing", async () => {
      const { interviewId } = seeded
      const before = await countRows(server, "reviews", interviewId)
      const cases: Array<[unknown, string]> = [
        [{ reviewer: "A", rating: 6, decision: "advance" }, "rating"],
        [{ reviewer: "A", decision: "maybe" }, "decision"],
        [{ reviewer: " ", decision: "hold" }, "reviewer"],
        [{ decision: "hold" }, "reviewer"]
      ]
      for (const [body, field] of cases) {
        const r = await c.call(`/v1/interviews/${interviewId}/reviews`, { method: "POST", body: JSON.stringify(body) })
        expect(r.status).toBe(400)
        expect(((await r.json()) as any).error.message).toContain(field)
      }
      expect(await countRows(server, "reviews", interviewId)).toBe(before)
    })

    it("authenticates candidates by their join token for that interview only", async () => {
      const a = await newInterview()
      const b = await newInterview()
      const body = JSON.stringify({ questionId: a.questionId, text: "An answer." })
      const path = `/v1/interviews/${a.id}/answers`
      const cases: Array<[string | null, number]> = [
        [null, 401],
        ["not-a-token", 401],
        [seeded.apiKey, 401],
        [b.token, 403]
      ]
      for (const [bearer, status] of cases) {
        const r = await c.call(path, { method: "POST", bearer, body })
        expect(r.status).toBe(status)
      }
      expect(await countRows(server, "answers", a.id)).toBe(0)
    })

    it("refuses empty, huge, non-UTF-8 and misdirected answers clearly, storing nothing", async () => {
      const a = await newInterview()
      const send = (init: RequestInit) =>
        c.call(`/v1/interviews/${a.id}/answers`, { method: "POST", bearer: a.token, ...init })
      const cases: Array<[RequestInit, number, string]> = [
        [{ body: JSON.stringify({ questionId: a.questionId, text: " \n\t " }) }, 400, "empty_answer"],
        [{ body: JSON.stringify({ questionId: a.questionId, text: "x".repeat(20_001) }) }, 413, "answer_too_long"],
        [{ body: JSON.stringify({ questionId: crypto.randomUUID(), text: "Hello." }) }, 400, "unknown_question"],
        [{ body: JSON.stringify({ questionId: a.questionId, text: "nul\u0000" }) }, 400, "validation_error"],
        [
          {
            body: new Uint8Array([
              ...new TextEncoder().encode(`{"questionId":"${a.questionId}","text":"`),
              0xc3,
              0x28,
              ...new TextEncoder().encode('"}')
            ]),
            headers: { "content-type": "application/json" }
          },
          400,
          "invalid_json"
        ],
        [{ body: "questionId=x", headers: { "content-type": "text/plain" } }, 415, "unsupported_media_type"],
        [{ body: JSON.stringify({ text: "no question" }) }, 400, "validation_error"]
      ]
      for (const [init, status, code] of cases) {
        const r = await send(init)
        expect(r.status, code).toBe(status)
        expect(((await r.json()) as any).error.code).toBe(code)
      }
      expect(await countRows(server, "answers", a.id)).toBe(0)
      expect(await countRows(server, "scoring_jobs", a.id)).toBe(0)
    })

    it("keeps one answer per question: a retry is acknowledged again, a different answer is refused", async () => {
      const a = await newInterview()
      const first = await answer(c, a.token, a.id, a.questionId, "Buckets indexed by a hash function.")
      expect(first.status).toBe(201)
      const again = await answer(c, a.token, a.id, a.questionId, "Buckets indexed by a hash function.")
      expect(again.status).toBe(200)
      const [x, y] = [(await first.json()) as any, (await again.json()) as any]
      expect(y).toMatchObject({ answerId: x.answerId, duplicate: true })
      const other = await answer(c, a.token, a.id, a.questionId, "Something else.")
      expect(other.status).toBe(409)
      expect(((await other.json()) as any).error.code).toBe("already_answered")
      expect(await countRows(server, "answers", a.id)).toBe(1)
      expect(await countRows(server, "scoring_jobs", a.id)).toBe(1)
    })

    it("takes no answers once the interview is finished", async () => {
      const a = await newInterview()
      expect((await c.call(`/v1/interviews/${a.id}/finish`, { method: "POST", bearer: a.token })).status).toBe(200)
      const r = await answer(c, a.token, a.id, a.questionId, "Too late.")
      expect(r.status).toBe(409)
      expect(((await r.json()) as any).error.code).toBe("interview_closed")
      const report = await completeReport(c, a.id)
      expect(report.questions[0]!.scoring.status).toBe("unanswered")
      expect(report.overall.score).toBe(0)
      expect(report.overall.notes.join(" ")).toContain("1 unanswered question(s) count as 0")
    })

    it("refuses audio without transcription (503), of a wrong type (415) or too large (413), storing nothing", async () => {
      const a = await newInterview()
      const send = (contentType: string, bytes: number, questionId = a.questionId) =>
        c.call(`/v1/interviews/${a.id}/answers/audio?questionId=${questionId}`, {
          method: "POST",
          bearer: a.token,
          headers: { "content-type": contentType },
          body: new Uint8Array(bytes).fill(7)
        })
      const cases: Array<[Response, number, string]> = [
        [await send("audio/webm", 100), 503, "transcription_unavailable"],
        [await send("audio/wav; codecs=1", 100), 503, "transcription_unavailable"],
        [await send("video/mp4", 100), 415, "unsupported_media_type"],
        [await send("application/json", 100), 415, "unsupported_media_type"],
        [await send("audio/webm", 2048), 413, "payload_too_large"],
        [await send("audio/webm", 0), 400, "empty_audio"],
        [await send("audio/webm", 100, crypto.randomUUID()), 400, "unknown_question"]
      ]
      for (const [r, status, code] of cases) {
        expect(r.status, code).toBe(status)
        const error = ((await r.json()) as any).error
        expect(error.code).toBe(code)
        if (code === "transcription_unavailable") expect(error.message).toMatch(/submit the answer as text/)
        if (code === "unsupported_media_type") expect(error.message).toContain("audio/webm")
      }
      expect(await countRows(server, "answers", a.id)).toBe(0)
    })

    it("serves the media a report links to, to the interview's tenant only", async () => {
      const { interviewId } = seeded
      const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
      await server.run(Effect.flatMap(MediaStore, (m) => m.put(`${interviewId}/keyframe/7.jpg`, bytes, "image/jpeg")))
      const r = await c.call(`/v1/interviews/${interviewId}/media/keyframe/7.jpg`)
      expect(r.status).toBe(200)
      expect(r.headers.get("content-type")).toBe("image/jpeg")
      expect(new Uint8Array(await r.arrayBuffer())).toEqual(bytes)
      for (const path of ["keyframe/8.jpg", "keyframe/..", "..%2Fx/7.jpg"]) {
        expect((await c.call(`/v1/interviews/${interviewId}/media/${path}`)).status).toBe(404)
      }
      const other = await server.seed()
      expect(
        (await c.call(`/v1/interviews/${interviewId}/media/keyframe/7.jpg`, { bearer: other.apiKey })).status
      ).toBe(404)
    })

    it("never shows another tenant's report or reviews", async () => {
      const other = await server.seed()
      for (const path of ["report", "report.html", "reviews"]) {
        const r = await c.call(`/v1/interviews/${other.interviewId}/${path}`)
        expect(r.status).toBe(404)
      }
      const r = await c.call(`/v1/interviews/${other.interviewId}/reviews`, {
        method: "POST",
        body: JSON.stringify({ reviewer: "X", decision: "reject" })
      })
      expect(r.status).toBe(404)
      expect(await countRows(server, "reviews", other.interviewId)).toBe(0)
    })

    it("documents the new routes in a valid OpenAPI document", async () => {
      const doc = (await (await c.call("/v1/openapi.json", { bearer: null })).json()) as any
      const result = await new Validator().validate(doc)
      expect(result.valid, JSON.stringify(result.errors)).toBe(true)
      const report = doc.paths["/v1/interviews/{id}/report"].get.responses["200"].content["application/json"].schema
      expect(report.title).toBe("Report")
      expect(report.required).toEqual(expect.arrayContaining(["signalsUsed", "overall", "humanDecision"]))
      expect(doc.paths["/v1/interviews/{id}/answers"].post.requestBody).toBeDefined()
      expect(doc.paths["/v1/interviews/{id}/reviews"].post.requestBody).toBeDefined()
      expect(doc.paths["/v1/interviews/{id}/answers/audio"].post.parameters).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: "questionId", in: "query" })])
      )
    })
  })
}
