import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Scope, Tracer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { SqlError, UnknownError } from "effect/sql/SqlError"
import { AppConfig } from "../../src/config.ts"
import * as Database from "../../src/store/Database.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { fromJson } from "../../src/store/Rows.ts"
import { SessionSnapshots } from "../../src/store/SessionSnapshots.ts"
import {
  makeSqlWriter,
  ONE_STATEMENT_PARAMS,
  type SessionWrite,
  type SessionWriterShape
} from "../../src/store/SessionWrites.ts"
import { Tenants } from "../../src/store/Tenants.ts"
import { defaultWriteBehindSettings, make, WriteRejected } from "../../src/store/WriteBehind.ts"
import { backends } from "../support/Backends.ts"

const down = () =>
  new SqlError({ reason: new UnknownError({ cause: new Error("down"), message: "connection refused" }) })

/** A writer that records batches and can be switched off (unreachable) or made to refuse one interview. */
const fakeWriter = () => {
  const state = { down: false, refuse: new Set<string>(), erased: new Set<string>(), batches: [] as Array<number> }
  const rows: Array<SessionWrite> = []
  const writer: SessionWriterShape = {
    write: (batch) =>
      Effect.suspend(() => {
        if (state.down) return Effect.fail(down())
        if (batch.some((w) => state.refuse.has(w.interviewId) || state.erased.has(w.interviewId)))
          return Effect.fail(down())
        state.batches.push(batch.length)
        rows.push(...batch)
        return Effect.void
      }),
    ping: Effect.suspend(() => (state.down ? Effect.fail(down()) : Effect.void)),
    interviewExists: (id) =>
      Effect.suspend(() => (state.down ? Effect.fail(down()) : Effect.succeed(!state.erased.has(id))))
  }
  return { state, rows, writer }
}

const event = (interviewId: string, seq: number): SessionWrite => ({
  _tag: "Event",
  interviewId,
  event: { _tag: "interviewStarted", interviewId, seq, at: 0, questionCount: 1 }
})

/** Runs `effect` and returns the SQL text of every statement it sent to the database. */
const statementsOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const texts: Array<string> = []
    const tracer = Tracer.make({
      span(options) {
        const span = new Tracer.NativeSpan(options)
        const attribute = span.attribute.bind(span)
        span.attribute = (key, value) => {
          if (key === "db.query.text") texts.push(String(value))
          attribute(key, value)
        }
        return span
      }
    })
    yield* effect.pipe(Effect.withTracer(tracer))
    return texts
  })

const window = (interviewId: string, second: number, questionId: string | null): SessionWrite => ({
  _tag: "Window",
  interviewId,
  row: { second, questionId, frames: 5, facePresence: 1, blinks: 0, earMean: 0.3, emotion: null }
})

const fast = { ...defaultWriteBehindSettings, flushIntervalMs: 50, retryBaseMs: 10, retryMaxMs: 50 }

describe("WriteBehind", () => {
  it.live("writes queued rows in batches, in order, and a durable write waits for its commit", () =>
    Effect.gen(function* () {
      const { state, rows, writer } = fakeWriter()
      const wb = yield* make(writer, fast)
      for (let i = 1; i <= 10; i++) wb.write("a", [event("a", i)])
      yield* wb.submitDurable("a", [event("a", 11)])
      expect(rows.map((r) => (r as any).event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
      expect(state.batches).toEqual([11])
    })
  )

  it.live("keeps everything through an outage and catches up; sheds only bulk rows beyond the bound", () =>
    Effect.gen(function* () {
      const { state, rows, writer } = fakeWriter()
      const wb = yield* make(writer, { ...fast, maxBufferedRows: 20 })
      state.down = true
      const answer = yield* Effect.forkChild(wb.submitDurable("a", [event("a", 1)]))
      for (let i = 2; i <= 40; i++) wb.write("a", [event("a", i)])
      yield* Effect.sleep(200)
      expect(answer.pollUnsafe()).toBeUndefined()
      expect(wb.stats().outage).toBe(true)
      expect(wb.stats().shedRows).toBe(20)
      state.down = false
      yield* Fiber.join(answer)
      yield* wb.flush
      const seqs = rows.map((r) => (r as any).event.seq)
      expect(seqs[0]).toBe(1)
      expect(seqs).toContain(40)
      expect(seqs).toHaveLength(20)
      expect(wb.stats()).toMatchObject({ bufferedRows: 0, outage: false })
    })
  )

  it.live("rejects rows of an erased interview and drops rows refused again and again, without stalling others", () =>
    Effect.gen(function* () {
      const { state, rows, writer } = fakeWriter()
      const wb = yield* make(writer, { ...fast, maxPoisonAttempts: 2 })
      state.erased.add("gone")
      state.refuse.add("bad")
      const gone = yield* Effect.exit(
        Effect.all([wb.submitDurable("gone", [event("gone", 1)]), wb.submitDurable("ok", [event("ok", 1)])], {
          concurrency: "unbounded"
        })
      )
      expect(Exit.isFailure(gone)).toBe(true)
      const bad = yield* Effect.exit(wb.submitDurable("bad", [event("bad", 1)]))
      expect(Exit.isFailure(bad) && Exit.findErrorOption(bad)._tag === "Some").toBe(true)
      const failure = Exit.findErrorOption(bad)
      expect(failure._tag === "Some" && failure.value instanceof WriteRejected).toBe(true)
      yield* wb.submitDurable("ok", [event("ok", 2)])
      expect(rows.map((r) => `${r.interviewId}:${(r as any).event.seq}`)).toEqual(["ok:1", "ok:2"])
      expect(wb.stats().rejectedRows).toBe(2)
    })
  )

  it.live("flushes what is queued when its scope closes", () =>
    Effect.gen(function* () {
      const { rows, writer } = fakeWriter()
      const scope = yield* Scope.make()
      const wb = yield* make(writer, { ...fast, flushIntervalMs: 60_000 }).pipe(Scope.provide(scope))
      for (let i = 1; i <= 5; i++) wb.write("a", [event("a", i)])
      expect(rows).toHaveLength(0)
      yield* Scope.close(scope, Exit.void)
      expect(rows).toHaveLength(5)
    })
  )
})

for (const backend of backends()) {
  describe(`session rows on ${backend.name}`, () => {
    it.live(
      "writes every kind of row idempotently",
      () =>
        Effect.gen(function* () {
          const env = yield* Effect.promise(() => backend.env())
          const layer = Layer.mergeAll(Tenants.layer, Interviews.layer, SessionSnapshots.layer).pipe(
            Layer.provideMerge(Database.layer),
            Layer.provide(AppConfig.layerFromRecord({ CANDOR_DATA_DIR: ".tmp/test-data", ...env }))
          )
          yield* Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const tenant = yield* (yield* Tenants).create({ name: "T" })
            const interview = yield* (yield* Interviews).create(
              tenant.id,
              { candidate: { name: "C" }, questions: [{ prompt: "Q?" }] },
              true
            )
            const id = interview.id
            const q = interview.questions[0]!.id
            const writer = makeSqlWriter(sql)
            const batch: Array<SessionWrite> = [
              {
                _tag: "Answer",
                id: "ans-1",
                interviewId: id,
                questionId: q,
                body: "text",
                idempotencyKey: `${id}:${q}`,
                source: "text",
                transcription: null
              },
              {
                _tag: "InterviewState",
                interviewId: id,
                status: "in_progress",
                cursor: 0,
                startedAt: 1000,
                finishedAt: null
              },
              event(id, 1),
              event(id, 2),
              {
                _tag: "Window",
                interviewId: id,
                row: {
                  second: 0,
                  questionId: q,
                  frames: 5,
                  facePresence: 0.8,
                  blinks: null,
                  earMean: null,
                  emotion: null
                }
              },
              {
                _tag: "Media",
                interviewId: id,
                key: `${id}/keyframes/1.jpg`,
                kind: "keyframe",
                contentType: "image/jpeg",
                bytes: 10,
                detail: { reason: "periodic" }
              },
              { _tag: "Snapshot", interviewId: id, version: 2, state: { hello: 1 } },
              { _tag: "Snapshot", interviewId: id, version: 1, state: { hello: 0 } }
            ]
            yield* writer.write(batch)
            yield* writer.write(batch)
            const counts = yield* sql`
              SELECT (SELECT count(*)::int FROM answers WHERE interview_id = ${id}) AS answers,
                     (SELECT count(*)::int FROM score_events WHERE interview_id = ${id}) AS events,
                     (SELECT count(*)::int FROM score_windows WHERE interview_id = ${id}) AS windows,
                     (SELECT count(*)::int FROM media_objects WHERE interview_id = ${id}) AS media,
                     (SELECT status FROM interviews WHERE id = ${id}) AS status`
            expect(counts[0]).toEqual({ answers: 1, events: 2, windows: 1, media: 1, status: "in_progress" })
            const stored = (yield* (yield* SessionSnapshots).load(id))!
            expect(stored.snapshot).toEqual({ version: 2, state: { hello: 1 } })
            expect(stored.maxEventSeq).toBe(2)
            expect(stored.answers).toEqual([{ questionId: q, answerId: "ans-1", body: "text" }])
            const events = yield* sql`SELECT seq, payload FROM score_events WHERE interview_id = ${id} ORDER BY seq`
            expect(events.map((r: any) => [r.seq, fromJson<{ seq: number }>(r.payload).seq])).toEqual([
              [1, 1],
              [2, 2]
            ])
            const windows = yield* sql`SELECT * FROM score_windows WHERE interview_id = ${id} ORDER BY second`
            // `real` columns come back as float4 widened to double (0.8 → 0.800000011920929).
            expect(
              windows.map((r: any) => ({ ...r, face_present: Math.round(Number(r.face_present) * 10_000) / 10_000 }))
            ).toEqual([
              {
                interview_id: id,
                second: 0,
                question_id: q,
                frames: 5,
                face_present: 0.8,
                blinks: null,
                ear_mean: null,
                emotion: null
              }
            ])
            yield* writer.write([{ _tag: "Snapshot", interviewId: id, version: 1, state: { stale: true } }])
            expect((yield* (yield* SessionSnapshots).load(id))?.snapshot?.version).toBe(2)
            expect(yield* writer.interviewExists(id)).toBe(true)
            yield* sql`DELETE FROM interviews WHERE id = ${id}`
            expect(yield* writer.interviewExists(id)).toBe(false)
            expect(Exit.isFailure(yield* Effect.exit(writer.write([event(id, 3)])))).toBe(true)
          }).pipe(Effect.provide(layer))
          yield* Effect.promise(() => backend.cleanup())
        }),
      120_000
    )

    it.live(
      "writes a usual batch as one statement, a huge one as a transaction, and either all of it or nothing",
      () =>
        Effect.gen(function* () {
          const env = yield* Effect.promise(() => backend.env())
          const layer = Layer.mergeAll(Tenants.layer, Interviews.layer).pipe(
            Layer.provideMerge(Database.layer),
            Layer.provide(AppConfig.layerFromRecord({ CANDOR_DATA_DIR: ".tmp/test-data", ...env }))
          )
          yield* Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const tenant = yield* (yield* Tenants).create({ name: "T" })
            const interviews = yield* Interviews
            const make = () =>
              interviews.create(tenant.id, { candidate: { name: "C" }, questions: [{ prompt: "Q?" }] }, true)
            const a = yield* make()
            const b = yield* make()
            const writer = makeSqlWriter(sql)
            const count = (id: string) =>
              sql<{ events: number; windows: number; status: string }>`
                SELECT (SELECT count(*)::int FROM score_events WHERE interview_id = ${id}) AS events,
                       (SELECT count(*)::int FROM score_windows WHERE interview_id = ${id}) AS windows,
                       (SELECT status FROM interviews WHERE id = ${id}) AS status`.pipe(Effect.map((rows) => rows[0]!))

            // A flush's usual rows, for two interviews: one statement, one round trip.
            const usual: Array<SessionWrite> = [
              {
                _tag: "InterviewState",
                interviewId: a.id,
                status: "in_progress",
                cursor: 0,
                startedAt: 1,
                finishedAt: null
              },
              {
                _tag: "InterviewState",
                interviewId: b.id,
                status: "in_progress",
                cursor: 0,
                startedAt: 1,
                finishedAt: null
              },
              event(a.id, 1),
              event(b.id, 1),
              window(a.id, 0, a.questions[0]!.id),
              window(b.id, 0, null),
              { _tag: "Snapshot", interviewId: a.id, version: 1, state: { n: 1 } }
            ]
            const sent = yield* statementsOf(writer.write(usual))
            expect(sent).toHaveLength(1)
            expect(sent[0]).toMatch(/^WITH /)
            expect(yield* count(a.id)).toEqual({ events: 1, windows: 1, status: "in_progress" })
            expect(yield* count(b.id)).toEqual({ events: 1, windows: 1, status: "in_progress" })

            // One refused row (an interview that does not exist) and nothing of the batch is written.
            const refused = yield* Effect.exit(
              writer.write([event(a.id, 2), window(a.id, 1, null), event("no-such-interview", 1)])
            )
            expect(Exit.isFailure(refused)).toBe(true)
            expect(yield* count(a.id)).toEqual({ events: 1, windows: 1, status: "in_progress" })

            // More parameters than one statement may bind: a transaction of chunked statements, all rows written.
            const seconds = Math.ceil(ONE_STATEMENT_PARAMS / 8) + 100
            const huge = Array.from({ length: seconds }, (_, i) => window(b.id, i + 1, null))
            const chunked = yield* statementsOf(writer.write(huge))
            expect(chunked.filter((text) => text.startsWith("INSERT INTO score_windows"))).toHaveLength(
              Math.ceil(seconds / 1000)
            )
            expect(yield* count(b.id)).toEqual({ events: 1, windows: seconds + 1, status: "in_progress" })
            // A refused row rolls the transaction back too.
            const refusedHuge = yield* Effect.exit(
              writer.write([...huge.map((w) => ({ ...w, interviewId: a.id })), event("no-such-interview", 1)])
            )
            expect(Exit.isFailure(refusedHuge)).toBe(true)
            expect(yield* count(a.id)).toEqual({ events: 1, windows: 1, status: "in_progress" })
          }).pipe(Effect.provide(layer))
          yield* Effect.promise(() => backend.cleanup())
        }),
      120_000
    )
  })
}
