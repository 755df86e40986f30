/**
 * The whole engine end to end: a candidate streams real face photos through the documented protocol, answers two
 * questions and finishes, with a server restart in the middle; a recruiter watches live. Runs on the embedded
 * defaults and on real Postgres + Redis.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import { MediaStore } from "../../src/store/MediaStore.ts"
import { Tenants } from "../../src/store/Tenants.ts"
import { WriteBehind } from "../../src/store/WriteBehind.ts"
import { JoinTokens } from "../../src/http/JoinTokens.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { backends } from "../support/Backends.ts"
import { Client } from "./support/Candidate.ts"
import { type Engine, startEngine } from "./support/Engine.ts"
import { faceFrames } from "./support/faces.ts"
import { consentToAll } from "../support/Consent.ts"

const photos = await faceFrames()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Streams `count` frames at about `fps`, continuing the seq numbering; returns the next seq. */
const stream = async (c: Client, from: number, count: number, fps = 8) => {
  for (let i = 0; i < count; i++) {
    c.sendFrame(from + i, photos[(from + i) % photos.length]!)
    await sleep(1000 / fps)
  }
  return from + count
}

const liveUrl = (engine: Engine, id: string, key: string) =>
  `${engine.wsUrl}/v1/interviews/${id}/live?key=${encodeURIComponent(key)}`

for (const backend of backends()) {
  describe(`live interview end to end on ${backend.name}`, () => {
    const dirs: Array<string> = []
    afterAll(async () => {
      await backend.cleanup()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    it("streams faces, answers two questions across a server restart, and a recruiter sees it live", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "candor-e2e-"))
      dirs.push(dataDir)
      // On the embedded defaults the database must survive the restart: PGlite on disk.
      const env: Record<string, string> = { ...(await backend.env()), CANDOR_DATA_DIR: dataDir }
      if (env.DATABASE_URL === undefined) env.PGLITE_DIR = join(dataDir, "pg")

      let engine = await startEngine(env, { passivateAfterMs: 60_000 })
      const seed = await engine.seed()
      const { interviewId: id, candidateToken: token, apiKey } = seed

      const recruiter = await Client.connect(liveUrl(engine, id, apiKey))
      await recruiter.until((c) => c.invalid.length > 0, "live state")
      const liveEvents = () =>
        recruiter.invalid.map((t) => JSON.parse(t) as { _tag: string }).filter((m) => m._tag !== "live")

      const c1 = await Client.candidate(engine.wsUrl, id, token)
      expect((await c1.next("session", 0)).status).toBe("waiting")
      c1.send({ _tag: "start" })
      const q1 = await c1.next("question", 0)
      expect(q1).toMatchObject({ index: 0, count: 2 })
      let seq = await stream(c1, 0, 24)
      await c1.until((c) => c.of("analysis").length + c.of("error").length >= 24, "replies to 24 frames")
      const analyses = c1.of("analysis")
      expect(analyses.length).toBeGreaterThanOrEqual(20)
      expect(analyses.filter((a) => a.faces.length > 0).length).toBeGreaterThanOrEqual(analyses.length / 2)
      const someFace = analyses.flatMap((a) => a.faces)[0]!
      expect(someFace.emotion).not.toBeNull()
      expect(Object.values(someFace.emotion!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2)
      expect(someFace.box.every((v) => Number.isFinite(v))).toBe(true)

      c1.send({ _tag: "answer", questionId: q1.questionId, text: "I added a queue and shed load at the edge." })
      const saved1 = await c1.next("answerSaved", 0)
      c1.send({ _tag: "next", fromQuestionId: q1.questionId })
      const q2 = await c1.next("question", 1)
      expect(q2.index).toBe(1)
      seq = await stream(c1, seq, 8)

      await recruiter.until(
        () =>
          ["interviewStarted", "attention", "emotion", "answerRecorded", "questionSummary"].every((t) =>
            liveEvents().some((e) => e._tag === t)
          ),
        "live score events"
      )

      // Restart the server in the middle of question 2.
      await engine.close()
      expect((await c1.closedWith()).code).toBe(1001)
      expect((await recruiter.closedWith()).code).toBe(1001)
      engine = await startEngine(env, { passivateAfterMs: 60_000 })

      const c2 = await Client.candidate(engine.wsUrl, id, token)
      c2.send({ _tag: "answer", questionId: q1.questionId, text: "I added a queue and shed load at the edge." })
      const resumed = await c2.next("session", 0)
      expect(resumed).toMatchObject({
        status: "question",
        question: { questionId: q2.questionId, index: 1 },
        answered: [q1.questionId],
        resumed: true
      })
      expect(resumed.lastSeq).toBeGreaterThanOrEqual(20)
      // The resumed session announced where it stands to the live view.
      const recruiter2 = await Client.connect(liveUrl(engine, id, apiKey))
      await recruiter2.until((c) => c.invalid.length > 0, "live state after restart")
      const state = JSON.parse(recruiter2.invalid[0]!) as { _tag: string; fields: Record<string, string> }
      expect(state._tag).toBe("live")
      expect(state.fields.status).toBe("in_progress")
      expect(state.fields.questionId).toBe(q2.questionId)
      // The first answer, re-sent by a client unsure it arrived, is acknowledged again with the same id.
      expect((await c2.next("answerSaved", 0)).answerId).toBe(saved1.answerId)
      c2.send({ _tag: "answer", questionId: q2.questionId, text: "We argued with data from a prototype." })
      const saved2 = await c2.next("answerSaved", 1)
      seq = await stream(c2, resumed.lastSeq + 1, 8)
      await c2.until((c) => c.of("analysis").length + c.of("error").length >= 8, "replies after restart")
      c2.send({ _tag: "finish" })
      const finished = await c2.next("finished", 0)
      expect(finished.reportUrl).toBe(`${engine.url}/v1/interviews/${id}/report`)
      expect((await c2.closedWith()).code).toBe(1000)
      await recruiter2.until(
        (c) => c.invalid.some((t) => (JSON.parse(t) as ScoreEvent)._tag === "interviewFinished"),
        "the finish, live"
      )

      // Everything is in the database.
      await engine.run(Effect.flatMap(WriteBehind, (w) => w.flush))
      const db = await engine.run(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const answers =
            yield* sql`SELECT id, question_id, body FROM answers WHERE interview_id = ${id} ORDER BY created_at`
          const interview =
            yield* sql`SELECT status, question_cursor, started_at, finished_at FROM interviews WHERE id = ${id}`
          const events = yield* sql`SELECT seq, tag, payload FROM score_events WHERE interview_id = ${id} ORDER BY seq`
          const windows = yield* sql`SELECT * FROM score_windows WHERE interview_id = ${id} ORDER BY second`
          const media = yield* sql`SELECT key, kind, bytes FROM media_objects WHERE interview_id = ${id} ORDER BY key`
          const snapshots = yield* sql`SELECT version FROM session_snapshots WHERE interview_id = ${id}`
          return { answers, interview, events, windows, media, snapshots }
        })
      )
      expect(db.answers.map((a: any) => [a.id, a.question_id])).toEqual([
        [saved1.answerId, q1.questionId],
        [saved2.answerId, q2.questionId]
      ])
      expect(db.interview[0]).toMatchObject({ status: "finished", question_cursor: 1 })
      expect(db.interview[0]!.started_at).not.toBeNull()
      expect(db.interview[0]!.finished_at).not.toBeNull()
      const tags = db.events.map((e: any) => e.tag as string)
      for (const t of [
        "interviewStarted",
        "questionStarted",
        "attention",
        "emotion",
        "answerRecorded",
        "questionSummary",
        "interviewFinished"
      ])
        expect(tags).toContain(t)
      expect(tags.filter((t) => t === "answerRecorded")).toHaveLength(2)
      expect(tags.filter((t) => t === "questionSummary")).toHaveLength(2)
      const seqs = db.events.map((e: any) => Number(e.seq))
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
      expect(new Set(seqs).size).toBe(seqs.length)
      expect(db.windows.length).toBeGreaterThanOrEqual(3)
      expect(db.windows.some((w: any) => w.emotion !== null)).toBe(true)
      expect(db.snapshots).toHaveLength(1)
      const keyframes = db.media.filter((m: any) => m.kind === "keyframe")
      expect(keyframes.length).toBeGreaterThanOrEqual(1)
      expect(db.media.some((m: any) => m.kind === "heatmap")).toBe(true)
      const stored = await engine.run(Effect.flatMap(MediaStore, (m) => m.get(keyframes[0]!.key as string)))
      expect(stored._tag === "Some" && stored.value.contentType).toBe("image/jpeg")

      const metrics = await (await fetch(`${engine.url}/metrics`)).text()
      expect(metrics).toMatch(/candor_frames_analyzed_total \d+/)
      recruiter2.close()
      await engine.close()
    }, 180_000)

    it("computes no emotion or blink signal for a tenant with affect signals off", async () => {
      const engine = await startEngine(await backend.env())
      try {
        const setup = await engine.run(
          Effect.gen(function* () {
            const tenant = yield* (yield* Tenants).create({ name: "EU tenant", region: "eu" })
            const key = yield* (yield* Tenants).issueKey(tenant.id, "test")
            const interview = yield* (yield* Interviews).create(
              tenant.id,
              { candidate: { name: "Eve" }, questions: [{ prompt: "Only question?" }] },
              tenant.affectPolicy === "enabled"
            )
            const token = yield* (yield* JoinTokens).issue(interview.id, tenant.id)
            return { id: interview.id, token: token.token, key: key.key }
          })
        )
        // The candidate consents to everything: affect stays off because the tenant's region does not allow it.
        await consentToAll(engine.url, { interviewId: setup.id, candidateToken: setup.token })
        const recruiter = await Client.connect(liveUrl(engine, setup.id, setup.key))
        const c = await Client.candidate(engine.wsUrl, setup.id, setup.token)
        expect((await c.next("session", 0)).affectSignals).toBe(false)
        c.send({ _tag: "start" })
        await c.next("question", 0)
        await stream(c, 0, 20, 10)
        await c.until((x) => x.of("analysis").length + x.of("error").length >= 20, "replies")
        c.send({ _tag: "finish" })
        await c.next("finished", 0)
        const faces = c.of("analysis").flatMap((a) => a.faces)
        expect(faces.length).toBeGreaterThan(0)
        expect(faces.every((f) => f.emotion === null)).toBe(true)
        const scores = c.of("score").map((s) => s.event)
        expect(scores.some((e) => e._tag === "attention")).toBe(true)
        expect(scores.some((e) => e._tag === "emotion" || e._tag === "blink")).toBe(false)
        await recruiter.until((x) => x.invalid.some((t) => t.includes('"interviewFinished"')), "live finish")
        expect(recruiter.invalid.some((t) => /"_tag":"(emotion|blink)"/.test(t))).toBe(false)
        await engine.run(Effect.flatMap(WriteBehind, (w) => w.flush))
        const rows = await engine.run(
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const events = yield* sql`SELECT tag, payload FROM score_events WHERE interview_id = ${setup.id}`
            const windows =
              yield* sql`SELECT blinks, ear_mean, emotion FROM score_windows WHERE interview_id = ${setup.id}`
            const media = yield* sql`SELECT kind FROM media_objects WHERE interview_id = ${setup.id}`
            return { events, windows, media }
          })
        )
        expect(rows.events.some((e: any) => e.tag === "emotion" || e.tag === "blink")).toBe(false)
        expect(rows.windows.length).toBeGreaterThan(0)
        expect(rows.windows.every((w: any) => w.blinks === null && w.ear_mean === null && w.emotion === null)).toBe(
          true
        )
        expect(rows.media.some((m: any) => m.kind === "heatmap")).toBe(false)
        // The report says affect signals were not used, and why.
        const report = (await (
          await fetch(`${engine.url}/v1/interviews/${setup.id}/report`, {
            headers: { authorization: `Bearer ${setup.key}` }
          })
        ).json()) as { affectNotUsed: string | null; signalsUsed: Array<string> }
        expect(report.affectNotUsed).toBe("off_for_interview")
        expect(report.signalsUsed).not.toContain("emotion")
        expect(report.signalsUsed).not.toContain("blinks")
        recruiter.close()
      } finally {
        await engine.close()
      }
    }, 120_000)
  })
}
