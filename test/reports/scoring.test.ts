/**
 * Durable scoring against a real local OpenAI-compatible server, judged by what ends up stored (sample rows,
 * job states) and in the report: faults are retried later with backoff and never dropped, a dead worker's job is
 * resumed without writing anything twice, and a report rebuilt from the stored rows equals the cached one.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { AnswersConfig } from "../../src/answers/AnswersConfig.ts"
import { OpenAiKeyPool } from "../../src/answers/OpenAiKeyPool.ts"
import { ScoringQueue } from "../../src/answers/ScoringQueue.ts"
import { makeSqlWriter } from "../../src/store/SessionWrites.ts"
import * as SqlClient from "effect/sql/SqlClient"
import { defaultGrade, type FakeOpenAi, type FakeReply, startFakeOpenAi } from "../answers/FakeOpenAiServer.ts"
import { fastConfig } from "../answers/support.ts"
import { backends } from "../support/Backends.ts"
import { startReportsServer } from "../support/ReportsServer.ts"
import type { TestServer } from "../support/TestServer.ts"
import {
  answers,
  createInterview,
  finish,
  jobs,
  rebuild,
  recordSession,
  reload,
  report,
  scoreRows,
  settle,
  submit
} from "./harness.ts"

const fastScoring = { backoffBaseMs: 10, backoffMaxMs: 40, maxAttempts: 3, leaseMs: 1_500 }

/** A fake API whose behaviour each test sets through `behave`. */
const scripted = () => {
  let behave: (index: number, body: any) => FakeReply | undefined = () => undefined
  return {
    set: (f: typeof behave) => {
      behave = f
    },
    options: { respond: (r: { index: number; body: any }) => behave(r.index, r.body) }
  }
}

for (const backend of backends()) {
  describe(`durable answer scoring against a local OpenAI-compatible server, on ${backend.name}`, () => {
    let server: TestServer
    let fake: FakeOpenAi
    let config: AnswersConfig
    const script = scripted()
    const chatRequests = () => fake.requests.filter((r) => r.path === "/v1/chat/completions").length

    beforeAll(async () => {
      fake = await startFakeOpenAi(script.options)
      // Timeouts long enough that only the scripted hangs time out on a loaded machine.
      config = fastConfig(fake, ["sk-test-aaaa", "sk-test-bbbb"], { requestTimeoutMs: 2_000 })
      server = await startReportsServer(await backend.env(), config, { workers: false, scoring: fastScoring })
    })
    afterAll(async () => {
      await server?.close()
      await fake?.close()
      await backend.cleanup()
    })

    it("stores every sample with its model, prompt version and temperature, and reports their mean and spread", async () => {
      script.set(() => undefined)
      const interview = await createInterview(server)
      const stored = await submit(server, interview, 0)
      await settle(server, interview.id)
      const rows = await scoreRows(server, stored.answerId)
      expect(rows.map((r) => r.sample)).toEqual([0, 1, 2])
      for (const r of rows) {
        expect(r).toMatchObject({ scorer: "openai", model: "gpt-4o-mini", prompt_version: "v1" })
        expect(r.temperature).toBeCloseTo(0.2, 5)
      }
      const [job] = await jobs(server, interview.id)
      expect(job).toMatchObject({ state: "done", attempts: 1, samples_requested: 3, last_error: null })
      const q = (await rebuild(server, interview)).questions[0]!
      expect(q.scoring).toEqual({ status: "scored", attempts: 1, reason: null })
      expect(q.score).toMatchObject({
        scorer: "openai",
        samples: 3,
        samplesRequested: 3,
        label: "model graded (gpt-4o-mini)"
      })
      for (const c of q.score!.criteria) {
        expect(c.sampleScores).toEqual([4, 4, 4])
        expect(c.spread).toEqual({ stddev: 0, min: 4, max: 4 })
        expect(c.evidence).toHaveLength(1)
        expect(answers[0]).toContain(c.evidence[0])
      }
    })

    it("retries a 500 and a timed-out request within the claim and scores the answer", async () => {
      const interview = await createInterview(server)
      const first = chatRequests()
      script.set((index) =>
        index === first ? { kind: "status", status: 500 } : index === first + 1 ? { kind: "hang" } : undefined
      )
      const stored = await submit(server, interview, 0)
      await settle(server, interview.id)
      expect((await scoreRows(server, stored.answerId)).length).toBe(3)
      expect((await jobs(server, interview.id))[0]).toMatchObject({ state: "done", attempts: 1 })
      expect(chatRequests() - first).toBeGreaterThanOrEqual(5)
    })

    it("asks again after invalid JSON from the model, and keeps the answer's score honest", async () => {
      const interview = await createInterview(server)
      const first = chatRequests()
      script.set((index) => (index < first + 2 ? { kind: "grade", content: "{not json" } : undefined))
      const stored = await submit(server, interview, 0)
      await settle(server, interview.id)
      expect((await scoreRows(server, stored.answerId)).length).toBe(3)
      expect((await rebuild(server, interview)).questions[0]!.scoring.status).toBe("scored")
    })

    it("drops evidence that is not in the answer and flags the criterion for a reviewer", async () => {
      const interview = await createInterview(server)
      script.set((_, body) => {
        const ids = Object.keys(body?.response_format?.json_schema?.schema?.properties?.criteria?.properties ?? {})
        const grade = defaultGrade({ request: {} as never, criterionIds: ids, answer: answers[0]! }) as any
        grade.criteria[ids[0]!].evidence = ["I always use write-through caching with two-phase commit."]
        return { kind: "grade", content: grade }
      })
      await submit(server, interview, 0)
      await settle(server, interview.id)
      const score = (await rebuild(server, interview)).questions[0]!.score!
      const invented = score.criteria[0]!
      expect(invented.evidence).toEqual([])
      expect(invented.flagged).toMatch(/quoted evidence not found in the answer in 3 of 3 samples/)
      expect(score.criteria[1]!.flagged).toBeUndefined()
      expect(score.criteria[1]!.evidence.length).toBe(1)
    })

    it("retries unusable model output later with backoff and, after the last attempt, says why in the report", async () => {
      const interview = await createInterview(server)
      script.set(() => ({ kind: "grade", content: "no json here" }))
      await submit(server, interview, 0)
      await submit(server, interview, 1)
      await finish(server, interview)
      await settle(server, interview.id)
      for (const job of await jobs(server, interview.id)) {
        expect(job.state).toBe("failed")
        expect(job.attempts).toBe(fastScoring.maxAttempts)
        expect(job.last_error).toMatch(/gave up after 3 attempts: the model returned no usable grading/)
      }
      const built = await report(server, await reload(server, interview))
      expect(built.complete).toBe(true)
      expect(built.scoring).toMatchObject({ answered: 2, scored: 0, failed: 2, pending: 0 })
      expect(built.questions[0]!.scoring.reason).toMatch(/the reply is not valid JSON/)
      expect(built.overall.notes.join(" ")).toContain("2 answer(s) could not be scored")
      script.set(() => undefined)
    })

    it("keeps retrying while every key is rejected, and fails with the reason after the last attempt", async () => {
      const revoked = await startFakeOpenAi({ revokedKeys: ["sk-r-1111", "sk-r-2222"] })
      const other = await startReportsServer(await backend.env(), fastConfig(revoked, ["sk-r-1111", "sk-r-2222"]), {
        workers: false,
        scoring: fastScoring
      })
      try {
        const interview = await createInterview(other)
        const stored = await submit(other, interview, 0)
        expect(await other.run(Effect.flatMap(ScoringQueue, (q) => q.runOnce()))).toBe(1)
        const [pending] = await jobs(other, interview.id)
        expect(pending).toMatchObject({ state: "pending", attempts: 1 })
        expect(pending!.last_error).toMatch(/all 2 OpenAI API keys were rejected/)
        await settle(other, interview.id)
        const [failed] = await jobs(other, interview.id)
        expect(failed).toMatchObject({ state: "failed", attempts: 3 })
        expect(await scoreRows(other, stored.answerId)).toEqual([])
        const metrics = await other.run(Effect.flatMap(OpenAiKeyPool, (p) => p.metrics))
        expect(metrics.keys.map((k) => k.state)).toEqual(["disabled", "disabled"])
      } finally {
        await other.close()
        await revoked.close()
      }
    })

    it("resumes a job whose worker died after its lease expires, writing each sample once", async () => {
      script.set(() => undefined)
      const interview = await createInterview(server)
      const stored = await submit(server, interview, 0)
      // A worker claims the job and dies before scoring anything.
      const claimed = await server.run(Effect.flatMap(ScoringQueue, (q) => q.claim(10)))
      expect(claimed.map((j) => j.answerId)).toContain(stored.answerId)
      const dead = claimed.find((j) => j.answerId === stored.answerId)!
      expect(await server.run(Effect.flatMap(ScoringQueue, (q) => q.runOnce()))).toBe(0)
      await settle(server, interview.id)
      expect((await scoreRows(server, stored.answerId)).map((r) => r.sample)).toEqual([0, 1, 2])
      expect((await jobs(server, interview.id))[0]).toMatchObject({ state: "done", attempts: 2 })
      // The dead worker wakes up late and finishes its stale claim: nothing is written twice, nothing overwritten.
      const late = await server.run(Effect.flatMap(ScoringQueue, (q) => q.process(dead)))
      expect(late.state).toBe("done")
      expect((await scoreRows(server, stored.answerId)).length).toBe(3)
      expect((await jobs(server, interview.id))[0]).toMatchObject({ state: "done", attempts: 2 })
    })

    it("grades only the missing samples after a worker stopped mid-way", async () => {
      const interview = await createInterview(server)
      const first = chatRequests()
      // The third grading hangs; the worker is stopped once the other two are stored.
      script.set((index) => (index === first + 2 ? { kind: "hang" } : undefined))
      const stored = await submit(server, interview, 0)
      const fiber = await server.run(Effect.forkDetach(Effect.flatMap(ScoringQueue, (q) => q.runOnce(1))))
      for (let i = 0; i < 400 && (await scoreRows(server, stored.answerId)).length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      await server.run(Fiber.interrupt(fiber))
      expect((await scoreRows(server, stored.answerId)).length).toBe(2)
      // Stopping hands the claim back without counting it.
      expect((await jobs(server, interview.id))[0]).toMatchObject({ state: "pending", attempts: 0 })
      script.set(() => undefined)
      const before = chatRequests()
      await settle(server, interview.id)
      expect(chatRequests() - before).toBe(1)
      expect((await scoreRows(server, stored.answerId)).map((r) => r.sample)).toEqual([0, 1, 2])
    })

    it("scores answers stored by a live session (the socket path) without being told", async () => {
      script.set(() => undefined)
      const interview = await createInterview(server)
      const questionId = interview.questions[1]!.id
      await server.run(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          makeSqlWriter(sql).write([
            {
              _tag: "Answer",
              id: crypto.randomUUID(),
              interviewId: interview.id,
              questionId,
              body: answers[1]!,
              idempotencyKey: `${interview.id}:${questionId}`,
              source: "text",
              transcription: null
            }
          ])
        )
      )
      await settle(server, interview.id)
      const q = (await rebuild(server, interview)).questions[1]!
      expect(q.scoring.status).toBe("scored")
      expect(q.score?.criteria.map((c) => c.criterionId)).toEqual(["design", "tradeoffs"])
    })

    it("rebuilds the same report from the stored rows as the one it cached, affect signals included", async () => {
      script.set(() => undefined)
      const interview = await createInterview(server, {
        weights: { answers: 0.6, attention: 0.2, emotion: 0.1, blinks: 0.1 }
      })
      await submit(server, interview, 0)
      await submit(server, interview, 1)
      await recordSession(server, interview, 40)
      await finish(server, interview)
      await settle(server, interview.id)
      const finished = await reload(server, interview)
      const first = await report(server, finished)
      expect(first.complete).toBe(true)
      const cached = await server.run(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ body: unknown }>`SELECT body FROM reports WHERE interview_id = ${interview.id}`
        )
      )
      expect(cached.length).toBe(1)
      const stored = typeof cached[0]!.body === "string" ? JSON.parse(cached[0]!.body) : cached[0]!.body
      const again = await rebuild(server, finished)
      expect(again).toEqual(stored)
      expect(again).toEqual(first)

      expect(again.signalsUsed).toEqual(["answers", "attention", "emotion", "blinks"])
      expect(again.timeline).toHaveLength(40)
      expect(again.attention).toMatchObject({ seconds: 40, frames: 400, facePresence: 0.95, multipleFaces: 0.005 })
      expect(again.affect?.blinks).toBe(10)
      expect(again.affect?.blinksPerMinute).toBeCloseTo((10 / 38) * 60, 3)
      expect(again.overall.weightsSource).toBe("tenant")
      expect(again.overall.weights).toEqual({ answers: 0.6, attention: 0.2, emotion: 0.1, blinks: 0.1 })
      const byHand = again.overall.components.reduce((sum, c) => sum + (c.value ?? 0) * c.share, 0)
      expect(again.overall.score).toBeCloseTo(byHand, 0)
      expect(again.keyframes.map((k) => k.url)).toEqual([
        `/v1/interviews/${interview.id}/media/keyframe/0.jpg`,
        `/v1/interviews/${interview.id}/media/keyframe/1.jpg`
      ])
      expect(again.keyframes[1]!.detail).toEqual({ reason: "faceLost", second: 9 })
    })

    it("leaves emotion and blinks out of a report whose interview had affect signals off", async () => {
      const interview = await createInterview(server, { affect: "disabled", weights: { answers: 1, emotion: 5 } })
      await submit(server, interview, 0)
      await recordSession(server, interview, 12)
      await settle(server, interview.id)
      const built = await rebuild(server, interview)
      expect(built.affectSignals).toBe(false)
      expect(built.signalsUsed).toEqual(["answers", "attention"])
      expect(built.affect).toBeNull()
      expect(built.timeline.every((p) => p.emotion === null && p.blinks === null)).toBe(true)
      expect(built.overall.components.find((c) => c.signal === "emotion")).toMatchObject({ value: null, share: 0 })
      expect(built.overall.notes.join(" ")).toContain("Affect signals were off")
      expect(built.overall.provisional).toBe(true)
      expect(built.complete).toBe(false)
    })
  })
}
