/**
 * The whole path over HTTP with background scoring workers against a real local OpenAI-compatible server: two
 * keys, one revoked, and a rate limiter answering 429 with Retry-After. Also a restart in the middle of scoring
 * and, on Postgres, two engines sharing one queue. The report of the main run is saved as an example.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import type { Report } from "../../schemas/Report.ts"
import { consentToAll } from "../support/Consent.ts"
import { OpenAiKeyPool } from "../../src/answers/OpenAiKeyPool.ts"
import { readVisionInfo } from "../../src/reports/VisionModels.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { type FakeRequest, startFakeOpenAi } from "../answers/FakeOpenAiServer.ts"
import { fastConfig } from "../answers/support.ts"
import { backends } from "../support/Backends.ts"
import { startReportsServer } from "../support/ReportsServer.ts"
import { recordSession } from "./harness.ts"
import { answer, client, completeReport, goodAnswers, questionIds } from "./support.ts"

const interviewBody = {
  candidate: { name: "Grace Example", email: "grace@example.com" },
  questions: [
    {
      prompt: "Tell us about a system you designed that had to handle a sudden tenfold increase in load.",
      rubric: {
        criteria: [
          { id: "design", name: "System design", description: "architecture, scaling, bottlenecks", weight: 2 },
          { id: "communication", name: "Communication", description: "clear structure, numbers", weight: 1 }
        ]
      },
      expectedPoints: ["measured the bottleneck", "horizontal scaling", "back-pressure or load shedding"]
    },
    { prompt: "Describe a time you disagreed with a teammate about a technical decision." },
    { prompt: "What would you do differently next time?" }
  ]
}

for (const backend of backends()) {
  describe(`answers to report with OpenAI scoring over HTTP, on ${backend.name}`, () => {
    afterAll(() => backend.cleanup())

    it("scores every answer with one of two keys revoked and 429s honoured, and the report is complete", async () => {
      const limitedUntil = { at: 0 }
      let rateLimited = 0
      // A limiter like the real API's: the first graded request opens a 1 s window in which everything gets 429.
      const fake = await startFakeOpenAi({
        revokedKeys: ["sk-revoked-2222"],
        respond: (r: FakeRequest) => {
          if (r.path !== "/v1/chat/completions") return undefined
          const now = Date.now()
          if (limitedUntil.at === 0) limitedUntil.at = now + 1000
          if (now < limitedUntil.at) {
            rateLimited++
            return {
              kind: "status",
              status: 429,
              code: "rate_limit_exceeded",
              headers: { "retry-after-ms": String(limitedUntil.at - now) }
            }
          }
          return undefined
        }
      })
      const config = fastConfig(fake, ["sk-revoked-2222", "sk-good-1111"], {
        perAnswerDeadlineMs: 20_000,
        requestTimeoutMs: 5_000
      })
      const vision = await Effect.runPromise(readVisionInfo())
      const server = await startReportsServer(await backend.env(), config, { vision })
      try {
        const seeded = await server.seed()
        const c = client(server, seeded.apiKey)
        const created = (await (
          await c.call("/v1/interviews", { method: "POST", body: JSON.stringify(interviewBody) })
        ).json()) as { id: string; candidateToken: string }
        await consentToAll(server.url, { interviewId: created.id, candidateToken: created.candidateToken })
        const ids = await questionIds(c, created.id)
        const texts = [goodAnswers[0]!, goodAnswers[1]!, "I would write the load test before the launch, not after."]
        for (const [i, id] of ids.entries()) {
          expect((await answer(c, created.candidateToken, created.id, id, texts[i]!)).status).toBe(201)
        }
        const interview = await server.run(
          Effect.flatMap(Interviews, (r) => r.getById(created.id)).pipe(Effect.map(Option.getOrThrow))
        )
        await recordSession(server, interview, 90)
        const finished = await c.call(`/v1/interviews/${created.id}/finish`, {
          method: "POST",
          bearer: created.candidateToken
        })
        expect(finished.status).toBe(200)
        const done = await completeReport(c, created.id)
        expect(done.scoring).toEqual({ answered: 3, scored: 3, pending: 0, failed: 0, unanswered: 0 })
        for (const q of done.questions) {
          expect(q.score).toMatchObject({ scorer: "openai", samples: 3, samplesRequested: 3, model: "gpt-4o-mini" })
          expect(q.scoring.attempts).toBe(1)
        }

        const pool = await server.run(Effect.flatMap(OpenAiKeyPool, (p) => p.metrics))
        const revoked = pool.keys.find((k) => k.key === "…2222")!
        const good = pool.keys.find((k) => k.key === "…1111")!
        expect(revoked.state).toBe("disabled")
        expect(revoked.disabledReason).toContain("401")
        // Requests already in flight when the 401 came back are the only ones the revoked key ever got.
        expect(fake.requests.filter((r) => r.apiKey === "sk-revoked-2222").length).toBe(revoked.requests)
        expect(revoked.requests).toBeLessThanOrEqual(9)
        expect(good.successes).toBe(9)
        // Honoured: calls waited out the window; only requests already in flight (3 answers × 3 samples) got a 429.
        expect(good.rateLimited).toBe(rateLimited)
        expect(rateLimited).toBeGreaterThanOrEqual(1)
        expect(rateLimited).toBeLessThanOrEqual(9)
        expect(pool.waits).toBeGreaterThanOrEqual(1)

        const metrics = await (await c.call("/metrics", { bearer: null })).text()
        expect(metrics).toContain('candor_openai_key_state{key="…2222",state="disabled"} 1')
        expect(metrics).toContain(`candor_openai_rate_limited_total{key="…1111"} ${rateLimited}`)
        expect(metrics).toMatch(/candor_answer_scoring_total\{outcome="done"\} 3/)

        const review = await c.call(`/v1/interviews/${created.id}/reviews`, {
          method: "POST",
          body: JSON.stringify({
            reviewer: "Rita Recruiter",
            rating: 4,
            decision: "advance",
            notes: "Concrete numbers; checked the model's evidence against the answers."
          })
        })
        expect(review.status).toBe(201)
        const report = (await (await c.call(`/v1/interviews/${created.id}/report`)).json()) as Report
        expect(report.complete).toBe(true)
        expect(report.reviews).toHaveLength(1)
        expect(report.signalsUsed).toEqual(["answers", "attention", "emotion", "blinks"])
        expect(report.models.scorers).toEqual([
          {
            scorer: "openai",
            label: "model graded (gpt-4o-mini)",
            model: "gpt-4o-mini",
            promptVersion: "v1",
            temperature: 0.2
          }
        ])
        expect(report.models.vision?.models.map((m) => m.name)).toEqual(
          vision === null ? undefined : vision.models.map((m) => m.name)
        )
        if (backend.name === "embedded") {
          mkdirSync("bench/out", { recursive: true })
          writeFileSync("bench/out/report-example.json", `${JSON.stringify(report, null, 2)}\n`)
        }
      } finally {
        await server.close()
        await fake.close()
      }
    })

    it("picks up a scoring cut short by a restart", async () => {
      const dir = mkdtempSync(Path.join(tmpdir(), "candor-restart-"))
      const env =
        backend.name === "embedded" ? { PGLITE_DIR: Path.join(dir, "db"), CANDOR_DEMO: "false" } : await backend.env()
      const stuck = await startFakeOpenAi({ respond: () => ({ kind: "hang" }) })
      const first = await startReportsServer(
        env,
        fastConfig(stuck, ["sk-one-1111"], { perAnswerDeadlineMs: 60_000, requestTimeoutMs: 60_000 })
      )
      let interviewId = ""
      try {
        const seeded = await first.seed()
        await consentToAll(first.url, seeded)
        interviewId = seeded.interviewId
        const c = client(first, seeded.apiKey)
        const [q] = await questionIds(c, interviewId)
        expect((await answer(c, seeded.candidateToken, interviewId, q!, goodAnswers[0]!)).status).toBe(201)
        for (let i = 0; i < 400 && stuck.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
        expect(stuck.requests.length).toBeGreaterThan(0)
      } finally {
        await first.close()
        await stuck.close()
      }
      const fine = await startFakeOpenAi()
      const second = await startReportsServer(env, fastConfig(fine, ["sk-two-2222"]))
      try {
        const rows = async () =>
          second.run(
            Effect.flatMap(
              SqlClient.SqlClient,
              (sql) =>
                sql<{ state: string; attempts: number; n: number }>`
                  SELECT j.state, j.attempts, (SELECT count(*)::int FROM answer_scores s WHERE s.answer_id = j.answer_id) AS n
                  FROM scoring_jobs j WHERE j.interview_id = ${interviewId}`
            )
          )
        for (let i = 0; i < 1500 && (await rows())[0]?.state !== "done"; i++)
          await new Promise((r) => setTimeout(r, 20))
        // The stopped engine handed its claim back, so the interrupted attempt does not count.
        expect(await rows()).toEqual([{ state: "done", attempts: 1, n: 3 }])
      } finally {
        await second.close()
        await fine.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }, 120_000)

    it.skipIf(backend.name === "embedded")(
      "shares one queue between two engines: every answer is graded once",
      async () => {
        const fake = await startFakeOpenAi()
        const env = await backend.env()
        const config = fastConfig(fake, ["sk-shared-1111"])
        const a = await startReportsServer(env, config, { scoring: { concurrency: 3 } })
        const b = await startReportsServer(env, config, { scoring: { concurrency: 3 } })
        try {
          const seeded = await a.seed()
          const c = client(a, seeded.apiKey)
          const interviews: Array<string> = []
          for (let i = 0; i < 4; i++) {
            const created = (await (
              await c.call("/v1/interviews", { method: "POST", body: JSON.stringify(interviewBody) })
            ).json()) as { id: string; candidateToken: string }
            await consentToAll(a.url, { interviewId: created.id, candidateToken: created.candidateToken })
            interviews.push(created.id)
            for (const [n, id] of (await questionIds(c, created.id)).entries()) {
              await answer(c, created.candidateToken, created.id, id, `${goodAnswers[n % 2]!} (${i})`)
            }
          }
          const open = () =>
            b.run(
              Effect.flatMap(
                SqlClient.SqlClient,
                (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM scoring_jobs WHERE state <> 'done'`
              )
            )
          for (let i = 0; i < 600 && (await open())[0]!.n > 0; i++) await new Promise((r) => setTimeout(r, 20))
          expect((await open())[0]!.n).toBe(0)
          const counts = await b.run(
            Effect.flatMap(
              SqlClient.SqlClient,
              (sql) =>
                sql<{ scores: number; attempts: number }>`
                SELECT (SELECT count(*)::int FROM answer_scores) AS scores,
                       (SELECT sum(attempts)::int FROM scoring_jobs) AS attempts`
            )
          )
          expect(counts[0]).toEqual({ scores: 12 * 3, attempts: 12 })
          expect(fake.requests.length).toBe(12 * 3)
        } finally {
          await a.close()
          await b.close()
          await fake.close()
        }
      }
    )
  })
}
