/**
 * Real faults around a live session. The engine reaches Postgres and Redis through a TCP proxy the test owns, and an
 * outage is the proxy cutting every connection and refusing new ones: the database unreachable for a while
 * (answers buffered, acknowledged once committed, the session going on meanwhile, readiness failing and coming
 * back), the live store unreachable (the live view pauses, nothing else). And a graceful shutdown in the middle of
 * traffic (nothing accepted is lost). Outages need the real servers (DATABASE_URL, REDIS_URL): the embedded
 * database and live store run inside the engine's process and have no connection to cut.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Interview } from "../../schemas/Api.ts"
import { WriteBehind } from "../../src/store/WriteBehind.ts"
import { backends } from "../support/Backends.ts"
import { getJson, readyz, untilReady } from "../support/Http.ts"
import { queryPostgres } from "../support/Sql.ts"
import { startTcpProxy, targetOf, throughProxy } from "../support/TcpProxy.ts"
import { Client } from "./support/Candidate.ts"
import { startEngine, testSessionSettings } from "./support/Engine.ts"
import { singleFace } from "./support/faces.ts"

const jpeg = await singleFace()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Long enough to span many flush intervals and retries; OUTAGE_SECONDS=30 runs the 30-second case. */
const OUTAGE_MS = Number(process.env.OUTAGE_SECONDS ?? 4) * 1000

const fastRetries = {
  writeBehind: { ...testSessionSettings.writeBehind!, retryBaseMs: 50, retryMaxMs: 500 }
}

/** Sends a frame every `everyMs` until stopped, numbering on from `from`; remembers when each was sent. */
const streamFrames = (c: Client, everyMs = 125, from = 0) => {
  const sentAt: Array<number> = []
  let seq = from
  const timer = setInterval(() => {
    if (c.closed !== undefined) return
    sentAt[seq] = Date.now()
    c.sendFrame(seq++, jpeg)
  }, everyMs)
  return {
    sent: () => seq - from,
    /** Frames sent within [from, to) (ms since the epoch). */
    sentBetween: (start: number, end: number) => sentAt.filter((t) => t !== undefined && t >= start && t < end).length,
    stop: () => clearInterval(timer)
  }
}

for (const backend of backends()) {
  describe(`faults on ${backend.name}`, () => {
    const dirs: Array<string> = []
    afterAll(async () => {
      await backend.cleanup()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    if (backend.name === "embedded") {
      it.skip("database outage: skipped on embedded PGlite, which runs inside the engine (no connection to cut); set DATABASE_URL", () => {})
    } else {
      it(
        "keeps answers through a real database outage, acknowledges them in order once committed, and goes on meanwhile",
        async () => {
          const env = await backend.env()
          const databaseUrl = env.DATABASE_URL!
          const proxy = await startTcpProxy(targetOf(databaseUrl))
          const engine = await startEngine({ ...env, DATABASE_URL: throughProxy(databaseUrl, proxy) }, fastRetries)
          try {
            const seed = await engine.seed()
            const interview = await getJson<Interview>(`${engine.url}/v1/interviews/${seed.interviewId}`, seed.apiKey)
            const [q1Id, q2Id] = interview.questions.map((q) => q.id)
            const c = await Client.candidate(engine.wsUrl, seed.interviewId, seed.candidateToken)
            c.send({ _tag: "start" })
            const q1 = await c.next("question", 0)
            expect(q1.questionId).toBe(q1Id)
            const frames = streamFrames(c)
            await c.until((x) => x.of("analysis").length >= 4, "analyses before the outage")
            expect((await readyz(engine.url)).status).toBe(200)

            proxy.cut()
            const cutAt = Date.now()
            const down = await untilReady(engine.url, 503, 10_000)
            expect(down.body.checks.database?.ok).toBe(false)
            expect(down.body.checks.liveStore?.ok).toBe(true)
            // Two answers and a move to the next question, all during the outage.
            c.send({ _tag: "answer", questionId: q1Id, text: "Written during the outage." })
            c.send({ _tag: "next", fromQuestionId: q1Id })
            c.send({ _tag: "answer", questionId: q2Id, text: "Also written during the outage." })
            const analysesAtCut = c.of("analysis").length
            while (Date.now() - cutAt < OUTAGE_MS) {
              await sleep(250)
              // Not acknowledged while not committed.
              expect(c.of("answerSaved")).toHaveLength(0)
              expect(c.of("question")).toHaveLength(1)
            }
            // The session went on: frames sent during the outage were analysed.
            const sentDuring = frames.sentBetween(cutAt, Date.now())
            expect(c.of("analysis").length - analysesAtCut).toBeGreaterThanOrEqual(Math.floor(sentDuring / 2))
            expect(c.of("error").filter((e) => e.code !== "frame_shed")).toEqual([])
            const stats = await engine.run(Effect.map(WriteBehind, (w) => w.stats()))
            expect(stats.outage).toBe(true)
            expect(stats.bufferedRows).toBeGreaterThan(0)
            expect((await readyz(engine.url)).status).toBe(503)
            // The engine did try to reach the database meanwhile, and was refused.
            expect(proxy.refused()).toBeGreaterThan(0)

            proxy.restore()
            const restoredAt = Date.now()
            await c.until((x) => x.of("answerSaved").length >= 2, "both answers acknowledged after the outage")
            const acked = Date.now() - restoredAt
            const up = await untilReady(engine.url, 200, 30_000)
            expect(up.body.checks.database?.ok).toBe(true)
            // In order: answer 1, then question 2, then answer 2.
            const order = c.messages
              .filter((m) => m._tag === "answerSaved" || m._tag === "question")
              .map((m) => `${m._tag}:${m.questionId}`)
            expect(order).toEqual([
              `question:${q1Id}`,
              `answerSaved:${q1Id}`,
              `question:${q2Id}`,
              `answerSaved:${q2Id}`
            ])
            const saved = c.of("answerSaved")

            // Still going after the outage: more analyses, and the interview finishes.
            const analysesAtRestore = c.of("analysis").length
            await c.until((x) => x.of("analysis").length >= analysesAtRestore + 4, "analyses after the outage")
            frames.stop()
            c.send({ _tag: "finish" })
            await c.next("finished", 0)
            await engine.run(Effect.flatMap(WriteBehind, (w) => w.flush))

            // Nothing acknowledged is lost: read straight from the database, not through the engine.
            const answers = await queryPostgres<{ id: string; question_id: string; body: string }>(
              databaseUrl,
              "SELECT id, question_id, body FROM answers WHERE interview_id = $1",
              [seed.interviewId]
            )
            expect(Object.fromEntries(answers.map((a) => [a.question_id, [a.id, a.body]]))).toEqual({
              [q1Id!]: [saved[0]!.answerId, "Written during the outage."],
              [q2Id!]: [saved[1]!.answerId, "Also written during the outage."]
            })
            const windows = await queryPostgres<{ n: number }>(
              databaseUrl,
              "SELECT count(*)::int AS n FROM score_windows WHERE interview_id = $1",
              [seed.interviewId]
            )
            // Score windows of the outage were buffered and caught up.
            expect(windows[0]!.n).toBeGreaterThanOrEqual(Math.floor(OUTAGE_MS / 1000) - 1)
            const state = await queryPostgres<{ status: string }>(
              databaseUrl,
              "SELECT status FROM interviews WHERE id = $1",
              [seed.interviewId]
            )
            expect(state[0]!.status).toBe("finished")
            console.info(
              `database outage ${OUTAGE_MS} ms: readyz 503 after ${down.ms} ms, answers acknowledged ${acked} ms after restore, readyz 200 ${up.ms} ms after`
            )
            c.close()
          } finally {
            await engine.close()
            await proxy.close()
          }
        },
        120_000 + OUTAGE_MS * 2
      )
    }

    if (backend.name !== "postgres+redis") {
      it.skip(`live store outage: skipped on ${backend.name}, whose live store runs inside the engine (no connection to cut); set REDIS_URL`, () => {})
    } else {
      it(
        "pauses only the live view while Redis is unreachable, and the view resumes by itself",
        async () => {
          const env = await backend.env()
          const redisUrl = env.REDIS_URL!
          const proxy = await startTcpProxy(targetOf(redisUrl))
          const engine = await startEngine({ ...env, REDIS_URL: throughProxy(redisUrl, proxy) })
          try {
            const seed = await engine.seed()
            const recruiter = await Client.connect(
              `${engine.wsUrl}/v1/interviews/${seed.interviewId}/live?key=${encodeURIComponent(seed.apiKey)}`
            )
            const events = () => recruiter.invalid.map((t) => JSON.parse(t) as { _tag: string; seq?: number })
            const c = await Client.candidate(engine.wsUrl, seed.interviewId, seed.candidateToken)
            c.send({ _tag: "start" })
            const q1 = await c.next("question", 0)
            const frames = streamFrames(c)
            // Attention events come every second while frames flow.
            await recruiter.until(() => events().some((e) => e._tag === "attention"), "live events before the outage")
            expect((await readyz(engine.url)).status).toBe(200)

            proxy.cut()
            const cutAt = Date.now()
            // Readiness names the live store as down; the database is fine.
            const down = await untilReady(engine.url, 503, 10_000)
            expect(down.body.checks.liveStore?.ok).toBe(false)
            expect(down.body.checks.database?.ok).toBe(true)
            // Events already in flight when the connection was cut may still arrive; then the view is quiet.
            await sleep(500)
            const seen = events().length
            // The candidate does not notice: answers are acknowledged, the next question comes, frames are analysed.
            c.send({ _tag: "answer", questionId: q1.questionId, text: "While the live view is down." })
            const saved = await c.next("answerSaved", 0, 10_000)
            const analysesAtCut = c.of("analysis").length
            while (Date.now() - cutAt < OUTAGE_MS) await sleep(250)
            expect(c.of("analysis").length - analysesAtCut).toBeGreaterThanOrEqual(
              Math.floor(frames.sentBetween(cutAt, Date.now()) / 2)
            )
            expect(events().length).toBe(seen)
            expect((await readyz(engine.url)).status).toBe(503)

            proxy.restore()
            const restoredAt = Date.now()
            // The recruiter's socket was never closed; the view resumes without reconnecting.
            await recruiter.until(() => events().length > seen, "live events after the outage", 30_000)
            const resumed = Date.now() - restoredAt
            expect(recruiter.closed).toBeUndefined()
            const up = await untilReady(engine.url, 200, 30_000)
            expect(up.body.checks.liveStore?.ok).toBe(true)
            // The live hash caught up with what happened during the outage: a recruiter opening the view now sees it.
            const late = await Client.connect(
              `${engine.wsUrl}/v1/interviews/${seed.interviewId}/live?key=${encodeURIComponent(seed.apiKey)}`
            )
            await late.until((x) => x.invalid.length > 0, "live state")
            expect(JSON.parse(late.invalid[0]!)).toMatchObject({
              _tag: "live",
              fields: { status: "in_progress", lastAnsweredQuestionId: q1.questionId }
            })
            late.close()
            c.send({ _tag: "next" })
            const q2 = await c.next("question", 1)
            await recruiter.until(
              () =>
                events().some(
                  (e) => e._tag === "questionStarted" && (e as { questionId?: string }).questionId === q2.questionId
                ),
              "questionStarted of question 2, live"
            )
            frames.stop()
            // The database writes never noticed.
            await engine.run(Effect.flatMap(WriteBehind, (w) => w.flush))
            const stats = await engine.run(Effect.map(WriteBehind, (w) => w.stats()))
            expect(stats.outage).toBe(false)
            const answers = await engine.run(
              Effect.flatMap(
                SqlClient.SqlClient,
                (sql) => sql`SELECT id FROM answers WHERE interview_id = ${seed.interviewId}`
              )
            )
            expect(answers.map((a: any) => a.id)).toEqual([saved.answerId])
            console.info(
              `live store outage ${OUTAGE_MS} ms: readyz 503 after ${down.ms} ms, live view resumed ${resumed} ms after restore`
            )
            c.close()
            recruiter.close()
          } finally {
            await engine.close()
            await proxy.close()
          }
        },
        120_000 + OUTAGE_MS * 2
      )
    }

    it("on shutdown answers every message it accepted, commits it, and closes with 1001", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "candor-shutdown-"))
      dirs.push(dataDir)
      const env: Record<string, string> = { ...(await backend.env()), CANDOR_DATA_DIR: dataDir }
      if (env.DATABASE_URL === undefined) env.PGLITE_DIR = join(dataDir, "pg")
      let engine = await startEngine(env)
      const seed = await engine.seed()
      const c = await Client.candidate(engine.wsUrl, seed.interviewId, seed.candidateToken)
      c.send({ _tag: "start" })
      const q1 = await c.next("question", 0)
      for (let i = 0; i < 6; i++) c.sendFrame(i, jpeg)
      c.send({ _tag: "answer", questionId: q1.questionId, text: "Sent just before the shutdown." })
      // Once the pong is back, the server has read (accepted) everything sent before it.
      c.send({ _tag: "ping", t: 1 })
      await c.next("pong", 0)
      const closing = engine.close()
      expect((await c.closedWith()).code).toBe(1001)
      await closing
      // Everything accepted was processed before the socket closed: every frame analysed, the answer committed
      // and acknowledged.
      expect(c.of("analysis").map((a) => a.seq)).toEqual([0, 1, 2, 3, 4, 5])
      const acknowledged = c.of("answerSaved")
      expect(acknowledged).toHaveLength(1)

      engine = await startEngine(env)
      try {
        const answers = await engine.run(
          Effect.flatMap(
            SqlClient.SqlClient,
            (sql) => sql`SELECT id FROM answers WHERE interview_id = ${seed.interviewId}`
          )
        )
        expect(answers.map((a: any) => a.id)).toEqual(acknowledged.map((a) => a.answerId))
      } finally {
        await engine.close()
      }
    }, 120_000)
  })
}
