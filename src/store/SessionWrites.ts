/**
 * Rows a live session produces, and how a batch of them is written: all or nothing, multi-row inserts per table,
 * every statement idempotent (a batch retried after an ambiguous failure changes nothing twice). A batch of the usual
 * size is one statement (each table's rows in a data-modifying `WITH` clause): one round trip instead of one per
 * table plus `BEGIN` and `COMMIT`, which on the engine's main thread and on the database is most of a flush's cost.
 */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { EmotionScores } from "../../schemas/FrameAnalysis.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"

/** One row of `score_windows`. Affect columns are null when affect signals are off. */
export interface ScoreWindowRow {
  readonly second: number
  readonly questionId: string | null
  readonly frames: number
  readonly facePresence: number
  readonly blinks: number | null
  readonly earMean: number | null
  readonly emotion: EmotionScores | null
}

export type SessionWrite =
  | {
      readonly _tag: "Answer"
      readonly id: string
      readonly interviewId: string
      readonly questionId: string
      readonly body: string
      /** One answer per question: `<interview id>:<question id>`. */
      readonly idempotencyKey: string
      readonly source: "text" | "audio"
      /** How an audio answer was transcribed (model, media type, bytes). */
      readonly transcription: Readonly<Record<string, unknown>> | null
    }
  | {
      readonly _tag: "InterviewState"
      readonly interviewId: string
      readonly status: "in_progress" | "finished" | "abandoned"
      readonly cursor: number
      readonly startedAt: number | null
      readonly finishedAt: number | null
    }
  | { readonly _tag: "Event"; readonly interviewId: string; readonly event: ScoreEvent }
  | { readonly _tag: "Window"; readonly interviewId: string; readonly row: ScoreWindowRow }
  | {
      readonly _tag: "Media"
      readonly interviewId: string
      readonly key: string
      readonly kind: string
      readonly contentType: string
      readonly bytes: number
      readonly detail: Record<string, unknown>
    }
  | { readonly _tag: "Snapshot"; readonly interviewId: string; readonly version: number; readonly state: unknown }

/** Writes batches of session rows; the write-behind buffer's only dependency on the database. */
export interface SessionWriterShape {
  readonly write: (batch: ReadonlyArray<SessionWrite>) => Effect.Effect<void, SqlError>
  /** Whether the database answers at all (tells an outage from a refused row). */
  readonly ping: Effect.Effect<void, SqlError>
  readonly interviewExists: (interviewId: string) => Effect.Effect<boolean, SqlError>
}

const CHUNK = 1000

/**
 * Parameters a batch may bind to be written as one statement. PostgreSQL's protocol counts a statement's
 * parameters in 16 bits (at most 65,535); larger batches are written as a transaction of chunked statements.
 */
export const ONE_STATEMENT_PARAMS = 30_000

type Row = Record<string, unknown>
/** Rows of one multi-row insert: at least one. */
type Rows = readonly [Row, ...Array<Row>]
const nonEmpty = (rows: ReadonlyArray<Row>): rows is Rows => rows.length > 0

const params = (rows: ReadonlyArray<Row>) => (rows.length === 0 ? 0 : rows.length * Object.keys(rows[0]!).length)

/** Parameters `updateState` binds: status, cursor, started and finished times, the interview. */
const STATE_PARAMS = 5

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const chunks = <A>(items: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

export const makeSqlWriter = (sql: SqlClient.SqlClient): SessionWriterShape => {
  /** The statements writing `rows`: one per chunk of `CHUNK` rows, or one for all of them. */
  const each = <S>(rows: ReadonlyArray<Row>, write: (rows: Rows) => S, chunked: boolean): Array<S> =>
    (chunked ? chunks(rows) : [rows]).filter(nonEmpty).map(write)

  const write = (batch: ReadonlyArray<SessionWrite>) =>
    Effect.gen(function* () {
      const answers: Array<Record<string, unknown>> = []
      const states = new Map<string, Extract<SessionWrite, { _tag: "InterviewState" }>>()
      const events: Array<Record<string, unknown>> = []
      const windows: Array<Record<string, unknown>> = []
      const media: Array<Record<string, unknown>> = []
      const snapshots = new Map<string, Extract<SessionWrite, { _tag: "Snapshot" }>>()
      for (const w of batch) {
        switch (w._tag) {
          case "Answer":
            answers.push({
              id: w.id,
              interview_id: w.interviewId,
              question_id: w.questionId,
              source: w.source,
              body: w.body,
              idempotency_key: w.idempotencyKey,
              transcription: w.transcription === null ? null : JSON.stringify(w.transcription)
            })
            break
          case "InterviewState":
            states.set(w.interviewId, w)
            break
          case "Event":
            events.push({
              interview_id: w.interviewId,
              seq: w.event.seq,
              tag: w.event._tag,
              at: iso(w.event.at),
              payload: JSON.stringify(w.event)
            })
            break
          case "Window":
            windows.push({
              interview_id: w.interviewId,
              second: w.row.second,
              question_id: w.row.questionId,
              frames: w.row.frames,
              face_present: w.row.facePresence,
              blinks: w.row.blinks,
              ear_mean: w.row.earMean,
              emotion: w.row.emotion === null ? null : JSON.stringify(w.row.emotion)
            })
            break
          case "Media":
            media.push({
              key: w.key,
              interview_id: w.interviewId,
              kind: w.kind,
              content_type: w.contentType,
              bytes: w.bytes,
              detail: JSON.stringify(w.detail)
            })
            break
          case "Snapshot": {
            const previous = snapshots.get(w.interviewId)
            if (previous === undefined || previous.version < w.version) snapshots.set(w.interviewId, w)
            break
          }
        }
      }
      const snapshotRows = [...snapshots.values()].map((s) => ({
        interview_id: s.interviewId,
        version: s.version,
        state: JSON.stringify(s.state)
      }))
      const stateUpdates = [...states.values()].map(updateState)
      // In the order a batch has always been written: answers, interview states, then the score rows.
      const statements = (chunked: boolean) => [
        ...each(answers, insertAnswers, chunked),
        ...stateUpdates,
        ...each(events, insertEvents, chunked),
        ...each(windows, insertWindows, chunked),
        ...each(media, insertMedia, chunked),
        ...each(snapshotRows, upsertSnapshots, chunked)
      ]
      const bound =
        params(answers) +
        params(events) +
        params(windows) +
        params(media) +
        params(snapshotRows) +
        states.size * STATE_PARAMS
      if (bound <= ONE_STATEMENT_PARAMS) {
        const clauses = statements(false)
        if (clauses.length === 0) return
        // Every clause runs to completion whether or not the query reads it; all of them take effect or none.
        // Unprepared: the text changes with the batch's make-up, and would only push useful statements out of the
        // prepared cache.
        yield* sql`WITH ${sql.csv(clauses.map((clause, i) => sql`${sql.literal(`w${i}`)} AS (${clause})`))} SELECT 1`
          .unprepared
        return
      }
      yield* Effect.forEach(statements(true), (statement) => statement, { discard: true }).pipe(sql.withTransaction)
    }).pipe(Effect.withSpan("SessionWriter.write"))

  const insertAnswers = (rows: Rows) =>
    sql`INSERT INTO answers ${sql.insert(rows)} ON CONFLICT (idempotency_key) DO NOTHING`
  const insertEvents = (rows: Rows) =>
    sql`INSERT INTO score_events ${sql.insert(rows)} ON CONFLICT (interview_id, seq) DO NOTHING`
  const insertWindows = (rows: Rows) =>
    sql`INSERT INTO score_windows ${sql.insert(rows)} ON CONFLICT (interview_id, second) DO NOTHING`
  const insertMedia = (rows: Rows) => sql`INSERT INTO media_objects ${sql.insert(rows)} ON CONFLICT (key) DO NOTHING`
  const upsertSnapshots = (rows: Rows) => sql`
    INSERT INTO session_snapshots ${sql.insert(rows)}
    ON CONFLICT (interview_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, updated_at = now()
    WHERE session_snapshots.version < EXCLUDED.version`
  const updateState = (s: Extract<SessionWrite, { _tag: "InterviewState" }>) => sql`
    UPDATE interviews SET status = ${s.status}, question_cursor = ${s.cursor},
      started_at = COALESCE(started_at, ${iso(s.startedAt)}::timestamptz),
      finished_at = COALESCE(finished_at, ${iso(s.finishedAt)}::timestamptz)
    WHERE id = ${s.interviewId} AND status NOT IN ('finished', 'abandoned')`

  return {
    write,
    ping: sql`SELECT 1`.pipe(Effect.asVoid),
    interviewExists: (id) => sql`SELECT 1 FROM interviews WHERE id = ${id}`.pipe(Effect.map((rows) => rows.length > 0))
  }
}

/** The SQL writer over the configured database. */
export class SessionWriter extends Context.Service<SessionWriter, SessionWriterShape>()("candor/SessionWriter") {
  static readonly layer = Layer.effect(SessionWriter, Effect.map(SqlClient.SqlClient, makeSqlWriter))
}
