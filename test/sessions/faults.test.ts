/**
 * Faults around a live session: the database unreachable for a while (answers buffered, acknowledged once
 * committed, the session going on meanwhile), the live store unreachable (the live view pauses, nothing else),
 * and a graceful shutdown in the middle of traffic (nothing accepted is lost).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { httpLayer, liveLayer } from "../../src/main.ts"
import { WriteBehind } from "../../src/store/WriteBehind.ts"
import { backends } from "../support/Backends.ts"
import { Client } from "./support/Candidate.ts"
import { startEngine, testSessionSettings } from "./support/Engine.ts"
import { faultyLiveStore, faultySql, type Outage } from "./support/Faults.ts"
import { singleFace } from "./support/faces.ts"

const jpeg = await singleFace()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Long enough to span many flush intervals and retries; OUTAGE_SECONDS=30 runs the 30-second case. */
const OUTAGE_MS = Number(process.env.OUTAGE_SECONDS ?? 4) * 1000

const fastRetries = {
  writeBehind: { ...testSessionSettings.writeBehind!, retryBaseMs: 50, retryMaxMs: 500 }
}

for (const backend of backends()) {
  describe(`faults on ${backend.name}`, () => {
    const dirs: Array<string> = []
    afterAll(async () => {
      await backend.cleanup()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    it(
      "keeps answers through a database outage, acknowledges them once committed, and goes on meanwhile",
      async () => {
        const db: Outage = { down: false }
        const engine = await startEngine(await backend.env(), fastRetries, undefined, (options) =>
          liveLayer.pipe(Layer.provide(faultySql(db)), Layer.provideMerge(httpLayer(options)))
        )
        try {
          const seed = await engine.seed()
          const c = await Client.candidate(engine.wsUrl, seed.interviewId, seed.candidateToken)
          c.send({ _tag: "start" })
          const q1 = await c.next("question", 0)

          db.down = true
          c.send({ _tag: "answer", questionId: q1.questionId, text: "Written during the outage." })
          c.send({ _tag: "next", fromQuestionId: q1.questionId })
          const before = c.of("analysis").length
          let seq = 0
          for (const started = Date.now(); Date.now() - started < OUTAGE_MS; seq++) {
            c.sendFrame(seq, jpeg)
            await sleep(125)
          }
          await c.until((x) => x.of("analysis").length >= before + seq / 2, "analyses during the outage")
          // Not acknowledged while it is not committed...
          expect(c.of("answerSaved")).toHaveLength(0)
          expect(c.of("question")).toHaveLength(1)
          const stats = await engine.run(Effect.map(WriteBehind, (w) => w.stats()))
          expect(stats.outage).toBe(true)
          expect(stats.bufferedRows).toBeGreaterThan(0)

          // ...and acknowledged, in order, once the database is back.
          db.down = false
          const saved = await c.next("answerSaved", 0)
          const q2 = await c.next("question", 1)
          expect(c.messages.findIndex((m) => m._tag === "answerSaved")).toBeLessThan(
            c.messages.findIndex((m) => m._tag === "question" && m.questionId === q2.questionId)
          )
          await engine.run(Effect.flatMap(WriteBehind, (w) => w.flush))
          const rows = await engine.run(
            Effect.gen(function* () {
              const sql = yield* SqlClient.SqlClient
              const answers = yield* sql`SELECT id FROM answers WHERE interview_id = ${seed.interviewId}`
              const windows =
                yield* sql`SELECT count(*)::int AS n FROM score_windows WHERE interview_id = ${seed.interviewId}`
              const cursor = yield* sql`SELECT question_cursor FROM interviews WHERE id = ${seed.interviewId}`
              return { answers, windows: (windows[0] as { n: number }).n, cursor: (cursor[0] as any).question_cursor }
            })
          )
          expect(rows.answers.map((a: any) => a.id)).toEqual([saved.answerId])
          // Score windows of the outage were buffered and caught up.
          expect(rows.windows).toBeGreaterThanOrEqual(Math.floor(OUTAGE_MS / 1000) - 1)
          expect(rows.cursor).toBe(1)
          c.close()
        } finally {
          await engine.close()
        }
      },
      120_000 + OUTAGE_MS * 2
    )

    it("pauses only the live view while the live store is unreachable", async () => {
      const live: Outage = { down: false }
      const engine = await startEngine(await backend.env(), {}, undefined, (options) =>
        liveLayer.pipe(Layer.provide(faultyLiveStore(live)), Layer.provideMerge(httpLayer(options)))
      )
      try {
        const seed = await engine.seed()
        const recruiter = await Client.connect(
          `${engine.wsUrl}/v1/interviews/${seed.interviewId}/live?key=${encodeURIComponent(seed.apiKey)}`
        )
        const events = () => recruiter.invalid.map((t) => JSON.parse(t) as { _tag: string; seq?: number })
        const c = await Client.candidate(engine.wsUrl, seed.interviewId, seed.candidateToken)
        c.send({ _tag: "start" })
        const q1 = await c.next("question", 0)
        await recruiter.until(() => events().some((e) => e._tag === "questionStarted"), "questionStarted, live")

        live.down = true
        const seen = events().length
        c.send({ _tag: "answer", questionId: q1.questionId, text: "While the live view is down." })
        await c.next("answerSaved", 0)
        for (let i = 0; i < 16; i++) {
          c.sendFrame(i, jpeg)
          await sleep(125)
        }
        await c.until((x) => x.of("analysis").length >= 12, "analyses while the live store is down")
        await sleep(300)
        expect(events().length).toBe(seen)

        live.down = false
        await sleep(1_200)
        c.send({ _tag: "next" })
        await c.next("question", 1)
        await recruiter.until(
          () =>
            events()
              .slice(seen)
              .some((e) => e._tag === "questionStarted"),
          "events again"
        )
        c.close()
        recruiter.close()
      } finally {
        await engine.close()
      }
    }, 120_000)

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
