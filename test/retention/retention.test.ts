/**
 * Retention: a tenant's `retention_days` passed on the clock erases an interview everywhere (rows, live key, every
 * media object on a real S3-compatible server) through the same path as an erasure on request, leaving a tombstone
 * and one audit row; younger interviews stay; concurrent sweeps (two in one engine, two engines on one database)
 * erase each interview exactly once; a sweep interrupted mid-way gives its claim back to the next one, and an
 * erasure left half done by a stopped engine is finished by a later sweep once its lease has expired.
 */
import { rmSync } from "node:fs"
import * as Net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { liveKey } from "../../src/pipeline/LiveSink.ts"
import { Retention, type SweepResult } from "../../src/retention/Retention.ts"
import { demoQuestions } from "../../src/Seed.ts"
import { Erasures } from "../../src/store/Erasures.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { LiveStore } from "../../src/store/LiveStore.ts"
import { MediaStore } from "../../src/store/MediaStore.ts"
import { backends } from "../support/Backends.ts"
import { type Engine, startEngine } from "../sessions/support/Engine.ts"
import { type S3Server, startS3Server } from "../support/S3Server.ts"

const DAY = 24 * 3600_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Runs `effect` on a clock `ms` ahead of the wall clock (sleeps still take real time). */
const aheadBy =
  (ms: number) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.clockWith((real) =>
      Effect.provideService(effect, Clock.Clock, {
        currentTimeMillisUnsafe: () => real.currentTimeMillisUnsafe() + ms,
        currentTimeMillis: Effect.sync(() => real.currentTimeMillisUnsafe() + ms),
        currentTimeNanosUnsafe: () => real.currentTimeNanosUnsafe() + BigInt(ms) * 1_000_000n,
        currentTimeNanos: Effect.sync(() => real.currentTimeNanosUnsafe() + BigInt(ms) * 1_000_000n),
        monotonicTimeNanosUnsafe: () => real.monotonicTimeNanosUnsafe(),
        monotonicTimeNanos: real.monotonicTimeNanos,
        sleep: (d) => real.sleep(d)
      })
    )

const sweepAt = (engine: Engine, ms: number): Promise<SweepResult> =>
  engine.run(Effect.flatMap(Retention, (r) => r.sweep).pipe(aheadBy(ms)))

const sql = <A>(engine: Engine, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  engine.run(Effect.flatMap(SqlClient.SqlClient, f))

const setRetention = (engine: Engine, tenantId: string, days: number) =>
  sql(engine, (s) => s`UPDATE tenants SET retention_days = ${days} WHERE id = ${tenantId}`)

const newInterview = (engine: Engine, tenantId: string) =>
  engine
    .run(
      Effect.flatMap(Interviews, (r) =>
        r.create(tenantId, { candidate: { name: "Grace Candidate" }, questions: demoQuestions }, false)
      )
    )
    .then((i) => i.id)

const KEYFRAMES = ["keyframes/000001.jpg", "keyframes/000002.jpg", "heatmaps/q1.png"]

/** An answer with its score, score windows and events, keyframes (rows and media objects) and a live key. */
const populate = (engine: Engine, id: string) =>
  engine.run(
    Effect.gen(function* () {
      const s = yield* SqlClient.SqlClient
      const media = yield* MediaStore
      const [question] = yield* s<{ id: string }>`
        SELECT id FROM questions WHERE interview_id = ${id} ORDER BY position LIMIT 1`
      const answerId = crypto.randomUUID()
      yield* s`
        INSERT INTO answers (id, interview_id, question_id, source, body, idempotency_key)
        VALUES (${answerId}, ${id}, ${question!.id}, 'text', 'An answer kept only as long as the tenant says.', ${answerId})`
      yield* s`
        INSERT INTO score_windows (interview_id, second, frames, face_present, blinks)
        VALUES (${id}, 0, 15, 1, 2)`
      yield* s`
        INSERT INTO score_events (interview_id, seq, tag, at, payload)
        VALUES (${id}, 1, 'Window', now(), '{}'::jsonb)`
      for (const name of KEYFRAMES) {
        const key = `${id}/${name}`
        yield* media.put(key, new Uint8Array([1, 2, 3, 4]), "image/jpeg")
        yield* s`
          INSERT INTO media_objects (key, interview_id, kind, content_type, bytes)
          VALUES (${key}, ${id}, ${name.split("/")[0]!}, 'image/jpeg', 4)`
      }
      yield* Effect.flatMap(LiveStore, (l) =>
        l.writeBatch({
          hashes: [{ key: liveKey(id), fields: { status: "live", answers: 1 }, ttlSeconds: 3600 }],
          messages: []
        })
      )
      // The answer is scored by the engine's scoring worker (offline scorer): its score rows are real ones.
      const deadline = Date.now() + 15_000
      while (Date.now() < deadline) {
        const [scored] = yield* s<{
          n: number
        }>`SELECT count(*)::int AS n FROM answer_scores WHERE answer_id = ${answerId}`
        if (scored!.n > 0) return answerId
        yield* Effect.sleep("50 millis")
      }
      return yield* Effect.die(new Error(`answer ${answerId} was not scored`))
    })
  )

/** What is left of an interview anywhere: rows per table, media objects, live key fields. */
const traces = (engine: Engine, id: string, answerId: string) =>
  engine.run(
    Effect.gen(function* () {
      const s = yield* SqlClient.SqlClient
      const rows: Record<string, number> = {}
      for (const [table, column, value] of [
        ["interviews", "id", id],
        ["questions", "interview_id", id],
        ["answers", "interview_id", id],
        ["answer_scores", "answer_id", answerId],
        ["scoring_jobs", "answer_id", answerId],
        ["score_windows", "interview_id", id],
        ["score_events", "interview_id", id],
        ["media_objects", "interview_id", id],
        ["retention_claims", "interview_id", id]
      ] as const) {
        const [row] = yield* s.unsafe<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [
          value
        ])
        rows[table] = row!.n
      }
      const media = yield* Effect.flatMap(MediaStore, (m) => m.list(`${id}/`))
      const live = Object.keys(yield* Effect.flatMap(LiveStore, (l) => l.hgetall(liveKey(id))))
      return { rows, media, live }
    })
  )

const erasedTraces = {
  rows: {
    interviews: 0,
    questions: 0,
    answers: 0,
    answer_scores: 0,
    scoring_jobs: 0,
    score_windows: 0,
    score_events: 0,
    media_objects: 0,
    retention_claims: 0
  },
  media: [],
  live: []
}

/** Tombstones and erase audit rows of an interview. */
const records = (engine: Engine, id: string) =>
  sql(engine, (s) =>
    Effect.all({
      tombstones: s<{ tenant_id: string; reason: string }>`
        SELECT tenant_id, reason FROM interview_tombstones WHERE interview_id = ${id}`,
      audits: s<{ actor: string; detail: unknown }>`
        SELECT actor, detail FROM audit_log WHERE subject = ${id} AND action = 'interview.erase'`
    })
  ).then((r) => ({
    tombstones: r.tombstones.map((t) => ({ tenantId: t.tenant_id, reason: t.reason })),
    audits: r.audits.map((a) => ({
      actor: a.actor,
      detail: (typeof a.detail === "string" ? JSON.parse(a.detail) : a.detail) as Record<string, unknown>
    }))
  }))

/** A TCP relay to the S3 server that, while holding, accepts connections and never answers them. */
const holdingRelay = async (targetPort: number) => {
  let holding = false
  const sockets = new Set<Net.Socket>()
  const server = Net.createServer((client) => {
    sockets.add(client)
    client.on("close", () => sockets.delete(client))
    client.on("error", () => {})
    if (holding) return
    const upstream = Net.connect(targetPort, "127.0.0.1")
    upstream.on("error", () => client.destroy())
    client.on("close", () => upstream.destroy())
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const drop = () => {
    for (const socket of sockets) socket.destroy()
  }
  return {
    port: (server.address() as Net.AddressInfo).port,
    hold: () => {
      holding = true
      drop()
    },
    pass: () => {
      holding = false
      drop()
    },
    close: () =>
      new Promise<void>((resolve) => {
        drop()
        server.close(() => resolve())
      })
  }
}

for (const backend of backends()) {
  describe(`retention on ${backend.name}`, () => {
    const dirs: Array<string> = []
    let s3: S3Server | undefined
    const engines: Array<Engine> = []
    beforeAll(async () => {
      s3 = await startS3Server()
    })
    afterAll(async () => {
      for (const e of engines.splice(0)) await e.close()
      await s3?.close()
      await backend.cleanup()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    /** A fresh database (its own) with media on the S3 server, sweeps left to the test unless `sweepSeconds`. */
    const environment = async (sweepSeconds = 0) => ({
      ...(await backend.env()),
      ...s3!.env(`retention-${crypto.randomUUID()}/`),
      RETENTION_SWEEP_SECONDS: String(sweepSeconds)
    })
    const engine = async (env: Record<string, string>) => {
      const e = await startEngine(env)
      engines.push(e)
      return e
    }

    it("a retention of 1 day with the clock advanced erases an interview everywhere; a younger one stays", async () => {
      const e = await engine(await environment())
      const seed = await e.seed()
      await setRetention(e, seed.tenantId, 1)
      const old = seed.interviewId
      const oldAnswer = await populate(e, old)
      // Created a day and a half later on the clock: half a day old when the first one is 2 days old.
      const young = await newInterview(e, seed.tenantId)
      const youngAnswer = await populate(e, young)
      await sql(e, (s) => s`UPDATE interviews SET created_at = created_at + interval '36 hours' WHERE id = ${young}`)
      // Another tenant keeps the default 180 days.
      const other = await e.seed()
      const otherAnswer = await populate(e, other.interviewId)
      expect((await traces(e, old, oldAnswer)).media).toHaveLength(KEYFRAMES.length)

      // Nothing is due today.
      expect(await sweepAt(e, 0)).toEqual({ claimed: 0, erased: 0, failed: 0 })
      expect((await traces(e, old, oldAnswer)).rows.interviews).toBe(1)

      expect(await sweepAt(e, 2 * DAY)).toEqual({ claimed: 1, erased: 1, failed: 0 })
      expect(await traces(e, old, oldAnswer)).toEqual(erasedTraces)
      expect(await records(e, old)).toEqual({
        tombstones: [{ tenantId: seed.tenantId, reason: "retention" }],
        audits: [{ actor: "system", detail: { reason: "retention", mediaObjects: KEYFRAMES.length } }]
      })
      const tombstone = await e.run(Effect.flatMap(Erasures, (x) => x.tombstone(old)))
      expect(tombstone._tag).toBe("Some")

      for (const [id, answer] of [
        [young, youngAnswer],
        [other.interviewId, otherAnswer]
      ] as const) {
        const left = await traces(e, id, answer)
        expect(left.rows).toMatchObject({ interviews: 1, answers: 1, answer_scores: 1, media_objects: 3 })
        expect(left.media).toHaveLength(KEYFRAMES.length)
        expect(left.live.length).toBeGreaterThan(0)
        expect(await records(e, id)).toEqual({ tombstones: [], audits: [] })
      }

      // A while on, the younger one is more than a day old and due too; the other tenant's is not.
      expect(await sweepAt(e, 2.6 * DAY)).toEqual({ claimed: 1, erased: 1, failed: 0 })
      expect(await traces(e, young, youngAnswer)).toEqual(erasedTraces)
      expect((await traces(e, other.interviewId, otherAnswer)).rows.interviews).toBe(1)
    })

    it("an erasure on request takes the same path: tombstone with reason request and one audit row", async () => {
      const e = await engine(await environment())
      const seed = await e.seed()
      const answer = await populate(e, seed.interviewId)
      const res = await fetch(`${e.url}/v1/interviews/${seed.interviewId}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${seed.apiKey}` }
      })
      expect(res.status).toBe(204)
      expect(await traces(e, seed.interviewId, answer)).toEqual(erasedTraces)
      const { tombstones, audits } = await records(e, seed.interviewId)
      expect(tombstones).toEqual([{ tenantId: seed.tenantId, reason: "request" }])
      expect(audits).toHaveLength(1)
      expect(audits[0]!.actor).toMatch(/^key:/)
      expect(audits[0]!.detail).toEqual({ reason: "request", mediaObjects: KEYFRAMES.length })
    })

    const concurrent = async (sweepers: ReadonlyArray<Engine>, owner: Engine) => {
      const seed = await owner.seed()
      await setRetention(owner, seed.tenantId, 1)
      const ids = [seed.interviewId]
      for (let i = 0; i < 7; i++) ids.push(await newInterview(owner, seed.tenantId))
      const answers = await Promise.all(ids.map((id) => populate(owner, id)))
      const results = await Promise.all(sweepers.map((s) => sweepAt(s, 2 * DAY)))
      // Every interview claimed by one sweep only, and erased by it.
      expect(results.reduce((n, r) => n + r.claimed, 0)).toBe(ids.length)
      expect(results.reduce((n, r) => n + r.erased, 0)).toBe(ids.length)
      expect(results.reduce((n, r) => n + r.failed, 0)).toBe(0)
      for (const [i, id] of ids.entries()) {
        expect(await traces(owner, id, answers[i]!)).toEqual(erasedTraces)
        const { tombstones, audits } = await records(owner, id)
        expect(tombstones).toEqual([{ tenantId: seed.tenantId, reason: "retention" }])
        // One audit row, and it counts every object: no other sweep deleted some of them first.
        expect(audits).toEqual([{ actor: "system", detail: { reason: "retention", mediaObjects: KEYFRAMES.length } }])
      }
    }

    it("two sweeps at once in one engine erase each interview exactly once", async () => {
      const e = await engine(await environment())
      await concurrent([e, e, e], e)
    })

    if (backend.name !== "embedded") {
      it("two engines on one database sweeping at once erase each interview exactly once", async () => {
        const env = await environment()
        const a = await engine(env)
        const b = await engine(env)
        await concurrent([a, b, a, b], a)
      })
    }

    it("an erasure left half done by a stopped engine is finished by a sweep once its lease has expired", async () => {
      const e = await engine(await environment())
      const seed = await e.seed()
      await setRetention(e, seed.tenantId, 1)
      const id = seed.interviewId
      const answer = await populate(e, id)
      // An engine claimed it and deleted its media, then stopped.
      const claim = await e.run(
        Effect.flatMap(Erasures, (x) =>
          x.claimDue({ owner: "engine-gone", now: new Date(Date.now() + 2 * DAY), leaseMs: 10 * 60_000 })
        )
      )
      expect(claim._tag).toBe("Some")
      await e.run(Effect.flatMap(MediaStore, (m) => m.deletePrefix(`${id}/`)))

      // While its lease holds, sweeps leave it alone.
      expect(await sweepAt(e, 2 * DAY + 60_000)).toEqual({ claimed: 0, erased: 0, failed: 0 })
      expect((await traces(e, id, answer)).rows).toMatchObject({ interviews: 1, answers: 1, retention_claims: 1 })
      expect(await records(e, id)).toEqual({ tombstones: [], audits: [] })

      // Then the next sweep takes it up and finishes it.
      expect(await sweepAt(e, 2 * DAY + 11 * 60_000)).toEqual({ claimed: 1, erased: 1, failed: 0 })
      expect(await traces(e, id, answer)).toEqual(erasedTraces)
      expect(await records(e, id)).toEqual({
        tombstones: [{ tenantId: seed.tenantId, reason: "retention" }],
        audits: [{ actor: "system", detail: { reason: "retention", mediaObjects: 0 } }]
      })
    })

    it("a sweep interrupted mid-way gives its claim back and the next sweep finishes the erasure", async () => {
      const relay = await holdingRelay(Number(new URL(s3!.endpoint).port))
      try {
        const e = await engine({ ...(await environment()), S3_ENDPOINT: `http://127.0.0.1:${relay.port}` })
        const seed = await e.seed()
        await setRetention(e, seed.tenantId, 1)
        const id = seed.interviewId
        const answer = await populate(e, id)
        // The media server stops answering: the sweep claims the interview and waits on its media.
        relay.hold()
        const claims = () =>
          sql(e, (s) => s<{ n: number }>`SELECT count(*)::int AS n FROM retention_claims`).then((r) => r[0]!.n)
        await e.run(
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(Effect.flatMap(Retention, (r) => r.sweep).pipe(aheadBy(2 * DAY)))
            const deadline = Date.now() + 10_000
            while ((yield* Effect.promise(claims)) === 0 && Date.now() < deadline) yield* Effect.sleep("20 millis")
            expect(yield* Effect.promise(claims)).toBe(1)
            yield* Fiber.interrupt(fiber)
          })
        )
        expect(await claims()).toBe(0)
        expect(await records(e, id)).toEqual({ tombstones: [], audits: [] })

        // No lease to wait for: the next sweep takes it up at once.
        relay.pass()
        expect((await traces(e, id, answer)).rows).toMatchObject({ interviews: 1, answers: 1, media_objects: 3 })
        expect(await sweepAt(e, 2 * DAY)).toEqual({ claimed: 1, erased: 1, failed: 0 })
        expect(await traces(e, id, answer)).toEqual(erasedTraces)
        expect((await records(e, id)).audits).toHaveLength(1)
      } finally {
        await relay.close()
      }
    })

    it("the engine sweeps on its own every RETENTION_SWEEP_SECONDS", async () => {
      const e = await engine(await environment(1))
      const seed = await e.seed()
      await setRetention(e, seed.tenantId, 1)
      const answer = await populate(e, seed.interviewId)
      // Two days old on the wall clock.
      await sql(
        e,
        (s) => s`UPDATE interviews SET created_at = now() - interval '2 days' WHERE id = ${seed.interviewId}`
      )
      const deadline = Date.now() + 10_000
      while ((await traces(e, seed.interviewId, answer)).rows.interviews > 0 && Date.now() < deadline) await sleep(200)
      expect(await traces(e, seed.interviewId, answer)).toEqual(erasedTraces)
      expect((await records(e, seed.interviewId)).tombstones).toEqual([
        { tenantId: seed.tenantId, reason: "retention" }
      ])
    })
  })
}
