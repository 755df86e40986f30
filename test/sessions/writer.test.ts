/**
 * One writer per interview: answers and finish over HTTP go through the interview's actor, so the candidate socket
 * and the HTTP routes never disagree about what is stored, and erasure stops the live session before anything is
 * deleted, so nothing of the interview is written afterwards (rows, live keys, media on disk and on S3).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { defaultKeyframeSettings } from "../../src/pipeline/KeyframePolicy.ts"
import { liveKey } from "../../src/pipeline/LiveSink.ts"
import { LiveStore } from "../../src/store/LiveStore.ts"
import { MediaStore } from "../../src/store/MediaStore.ts"
import { backends } from "../support/Backends.ts"
import { Client, upgradeStatus } from "./support/Candidate.ts"
import { type Engine, startEngine } from "./support/Engine.ts"
import { singleFace } from "./support/faces.ts"
import { type S3Server, startS3Server } from "../support/S3Server.ts"

const jpeg = await singleFace()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const post = (engine: Engine, path: string, token: string, body?: unknown) =>
  fetch(`${engine.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

const answersOf = (engine: Engine, interviewId: string) =>
  engine.run(
    Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql<{ id: string; question_id: string; body: string }>`
        SELECT id, question_id, body FROM answers WHERE interview_id = ${interviewId} ORDER BY created_at`
    )
  )

/** Rows left anywhere for the interview. */
const rowsOf = (engine: Engine, interviewId: string) =>
  engine.run(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.gen(function* () {
        const counts: Record<string, number> = {}
        for (const table of [
          "interviews",
          "answers",
          "score_events",
          "score_windows",
          "media_objects",
          "session_snapshots"
        ]) {
          const column = table === "interviews" ? "id" : "interview_id"
          const rows = yield* sql.unsafe(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [interviewId])
          counts[table] = (rows[0] as { n: number }).n
        }
        return counts
      })
    )
  )

for (const backend of backends()) {
  describe(`one writer per interview on ${backend.name}`, () => {
    const dirs: Array<string> = []
    let s3: S3Server | undefined
    beforeAll(async () => {
      s3 = await startS3Server()
    })
    afterAll(async () => {
      await s3?.close()
      await backend.cleanup()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    it("HTTP and socket answers give one stored answer per question and no acknowledgement that is not stored", async () => {
      const engine = await startEngine(await backend.env())
      try {
        const seed = await engine.seed()
        const c = await Client.candidate(engine.wsUrl, seed.interviewId, seed.candidateToken)
        await c.next("session", 0)
        c.send({ _tag: "start" })
        const q1 = await c.next("question", 0)
        const path = `/v1/interviews/${seed.interviewId}`

        // Over HTTP while the socket session runs: stored, and the socket sees it.
        const http = await post(engine, `${path}/answers`, seed.candidateToken, {
          questionId: q1.questionId,
          text: "Answered over HTTP while the socket was open."
        })
        expect(http.status).toBe(201)
        const stored = (await http.json()) as { answerId: string; duplicate: boolean }
        expect(stored.duplicate).toBe(false)
        const seen = await c.next("answerSaved", 0)
        expect(seen).toEqual({ _tag: "answerSaved", questionId: q1.questionId, answerId: stored.answerId })

        // Over the socket, a different answer to the same question: refused, never acknowledged.
        c.send({ _tag: "answer", questionId: q1.questionId, text: "A different answer over the socket." })
        await c.until((x) => x.of("error").some((e) => e.code === "already_answered"), "already_answered")
        // The same answer again: acknowledged with the stored id.
        c.send({ _tag: "answer", questionId: q1.questionId, text: "Answered over HTTP while the socket was open." })
        expect((await c.next("answerSaved", 1)).answerId).toBe(stored.answerId)

        // The second question over HTTP before the socket reaches it (HTTP answers any open question).
        const interview = (await (
          await fetch(`${engine.url}${path}`, { headers: { authorization: `Bearer ${seed.apiKey}` } })
        ).json()) as { questions: Array<{ id: string }> }
        const q2 = interview.questions[1]!.id
        const second = await post(engine, `${path}/answers`, seed.candidateToken, {
          questionId: q2,
          text: "The second answer, given over HTTP before the socket got there."
        })
        expect(second.status).toBe(201)
        expect((await c.next("answerSaved", 2)).questionId).toBe(q2)

        // ...then over HTTP again with other text: 409, and the socket saw nothing of it.
        const again = await post(engine, `${path}/answers`, seed.candidateToken, {
          questionId: q1.questionId,
          text: "Yet another text."
        })
        expect(again.status).toBe(409)
        expect(((await again.json()) as { error: { code: string } }).error.code).toBe("already_answered")

        // Finish over HTTP: the socket is told and closed; the actor takes no more frames or answers.
        const finished = await post(engine, `${path}/finish`, seed.candidateToken)
        expect(finished.status).toBe(200)
        const { reportUrl } = (await finished.json()) as { reportUrl: string }
        expect((await c.next("finished", 0)).reportUrl).toBe(reportUrl)
        expect((await c.closedWith()).code).toBe(1000)
        const late = await post(engine, `${path}/answers`, seed.candidateToken, {
          questionId: q1.questionId,
          text: "After the end."
        })
        expect(late.status).toBe(409)

        // Every acknowledgement the socket got names a stored answer, one per question.
        const rows = await answersOf(engine, seed.interviewId)
        expect(rows.map((r) => r.question_id).sort()).toEqual([...new Set(rows.map((r) => r.question_id))].sort())
        expect(rows).toHaveLength(2)
        for (const ack of c.of("answerSaved")) expect(rows.map((r) => r.id)).toContain(ack.answerId)
        expect(rows.find((r) => r.question_id === q1.questionId)?.body).toBe(
          "Answered over HTTP while the socket was open."
        )
      } finally {
        await engine.close()
      }
    })

    for (const media of ["disk", "s3"] as const) {
      it(`erasing a live interview stops its session first: no row, live key or ${media} object is left`, async () => {
        const mediaDir = mkdtempSync(join(tmpdir(), "candor-media-"))
        dirs.push(mediaDir)
        const env = {
          ...(await backend.env()),
          ...(media === "disk" ? { MEDIA_DIR: mediaDir } : s3!.env(`erase-${Date.now()}/`))
        }
        // A keyframe every 100 ms of capture time: keyframes are being stored when the erasure comes.
        const engine = await startEngine(env, { keyframes: { ...defaultKeyframeSettings, everyMs: 100 } })
        try {
          const seed = await engine.seed()
          const id = seed.interviewId
          const c = await Client.candidate(engine.wsUrl, id, seed.candidateToken)
          c.send({ _tag: "start" })
          const q1 = await c.next("question", 0)
          c.send({ _tag: "answer", questionId: q1.questionId, text: "An answer that will be erased." })
          await c.next("answerSaved", 0)
          let seq = 0
          let streaming = true
          const stream = (async () => {
            while (streaming && c.closed === undefined) {
              c.sendFrame(seq++, jpeg)
              await sleep(100)
            }
          })()
          const keyframes = () => engine.run(Effect.flatMap(MediaStore, (m) => m.list(`${id}/`)))
          const deadline = Date.now() + 20_000
          while ((await keyframes()).length < 2 && Date.now() < deadline) await sleep(100)
          expect((await keyframes()).length).toBeGreaterThanOrEqual(2)

          const erased = await fetch(`${engine.url}/v1/interviews/${id}`, {
            method: "DELETE",
            headers: { authorization: `Bearer ${seed.apiKey}` }
          })
          expect(erased.status).toBe(204)
          await c.until((x) => x.of("error").some((e) => e.code === "erased"), "erased")
          expect((await c.closedWith()).code).toBe(4004)
          streaming = false
          await stream
          // Whatever was under way when the session stopped has had time to land: nothing did.
          await sleep(1500)
          expect(await rowsOf(engine, id)).toEqual({
            interviews: 0,
            answers: 0,
            score_events: 0,
            score_windows: 0,
            media_objects: 0,
            session_snapshots: 0
          })
          expect(await keyframes()).toEqual([])
          expect(await engine.run(Effect.flatMap(LiveStore, (l) => l.hgetall(liveKey(id))))).toEqual({})
          // The token of an erased interview opens nothing.
          const url = `${engine.wsUrl}/v1/interviews/${id}/stream?token=${encodeURIComponent(seed.candidateToken)}`
          expect(await upgradeStatus(url)).toBe(404)
        } finally {
          await engine.close()
        }
      })
    }
  })
}
