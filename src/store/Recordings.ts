/**
 * Rows of answer recordings (migration 0011): resumable uploads and, once complete, the recording's entry in the
 * interview's media index (`media_objects`, kind `recording`), which is how the report finds it. A part is accepted
 * only where the upload stands (`received`), by a conditional update, so two requests for the same offset cannot
 * both advance it.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { type ConsentStanding, consentStanding } from "./Consents.ts"
import type { SqlError } from "effect/sql/SqlError"
import { fromJson, isId, newId, toIso, toIsoOrNull } from "./Rows.ts"

export interface RecordingUpload {
  readonly id: string
  readonly interviewId: string
  readonly questionId: string
  readonly contentType: string
  /** Bytes accepted so far: where the next part must start. */
  readonly received: number
  /** Byte lengths of the accepted parts, in order. */
  readonly parts: ReadonlyArray<number>
  readonly status: "uploading" | "complete"
  readonly mediaKey: string | null
  readonly createdAt: string
  readonly completedAt: string | null
}

export interface RecordingsShape {
  readonly create: (
    interviewId: string,
    questionId: string,
    contentType: string
  ) => Effect.Effect<RecordingUpload, SqlError>
  readonly get: (interviewId: string, uploadId: string) => Effect.Effect<Option.Option<RecordingUpload>, SqlError>
  /** The question's completed recording, if any. */
  readonly completedFor: (
    interviewId: string,
    questionId: string
  ) => Effect.Effect<Option.Option<RecordingUpload>, SqlError>
  /** Accepts a part of `length` bytes at `offset`; none when the upload is no longer there (or complete). */
  readonly advance: (
    uploadId: string,
    offset: number,
    length: number
  ) => Effect.Effect<Option.Option<RecordingUpload>, SqlError>
  /** The candidate's consent as it stands (a recording needs `recording` on the tenant's current notice). */
  readonly consent: (tenantId: string, interviewId: string) => Effect.Effect<ConsentStanding, SqlError>
  /** Marks the upload complete and indexes its object; idempotent. */
  readonly complete: (
    upload: RecordingUpload,
    mediaKey: string,
    storedBytes: number,
    detail: Readonly<Record<string, unknown>>
  ) => Effect.Effect<RecordingUpload, SqlError>
}

const toUpload = (r: any): RecordingUpload => ({
  id: r.id,
  interviewId: r.interview_id,
  questionId: r.question_id,
  contentType: r.content_type,
  received: Number(r.received),
  parts: fromJson<Array<number>>(r.parts).map(Number),
  status: r.status,
  mediaKey: r.media_key ?? null,
  createdAt: toIso(r.created_at),
  completedAt: toIsoOrNull(r.completed_at)
})

const first = (rows: ReadonlyArray<unknown>) => (rows[0] === undefined ? Option.none() : Option.some(toUpload(rows[0])))

export const make = Effect.map(
  SqlClient.SqlClient,
  (sql): RecordingsShape => ({
    consent: (tenantId, interviewId) =>
      consentStanding(tenantId, interviewId).pipe(Effect.provideService(SqlClient.SqlClient, sql)),
    create: (interviewId, questionId, contentType) =>
      sql`
        INSERT INTO recording_uploads (id, interview_id, question_id, content_type)
        VALUES (${newId()}, ${interviewId}, ${questionId}, ${contentType})
        RETURNING *`.pipe(
        Effect.map((rows) => toUpload(rows[0])),
        Effect.withSpan("Recordings.create")
      ),
    get: (interviewId, uploadId) =>
      isId(uploadId)
        ? sql`SELECT * FROM recording_uploads WHERE id = ${uploadId} AND interview_id = ${interviewId}`.pipe(
            Effect.map(first),
            Effect.withSpan("Recordings.get")
          )
        : Effect.succeed(Option.none()),
    completedFor: (interviewId, questionId) =>
      sql`
        SELECT * FROM recording_uploads
        WHERE interview_id = ${interviewId} AND question_id = ${questionId} AND status = 'complete'
        ORDER BY completed_at DESC LIMIT 1`.pipe(Effect.map(first), Effect.withSpan("Recordings.completedFor")),
    advance: (uploadId, offset, length) =>
      sql`
        UPDATE recording_uploads
        SET received = received + ${length}, parts = parts || ${JSON.stringify([length])}::jsonb, updated_at = now()
        WHERE id = ${uploadId} AND received = ${offset} AND status = 'uploading'
        RETURNING *`.pipe(Effect.map(first), Effect.withSpan("Recordings.advance")),
    complete: (upload, mediaKey, storedBytes, detail) =>
      Effect.gen(function* () {
        yield* sql`
          INSERT INTO media_objects (key, interview_id, kind, content_type, bytes, detail)
          VALUES (${mediaKey}, ${upload.interviewId}, 'recording', ${upload.contentType}, ${storedBytes},
                  ${JSON.stringify(detail)}::jsonb)
          ON CONFLICT (key) DO UPDATE SET content_type = EXCLUDED.content_type, bytes = EXCLUDED.bytes,
            detail = EXCLUDED.detail`
        const rows = yield* sql`
          UPDATE recording_uploads
          SET status = 'complete', media_key = ${mediaKey}, completed_at = COALESCE(completed_at, now()),
              updated_at = now()
          WHERE id = ${upload.id}
          RETURNING *`
        return toUpload(rows[0])
      }).pipe(sql.withTransaction, Effect.withSpan("Recordings.complete"))
  })
)

/** Recording uploads over the configured database; see the module notes. */
export class Recordings extends Context.Service<Recordings, RecordingsShape>()("candor/Recordings") {
  static readonly layer = Layer.effect(Recordings, make)
}
