/**
 * Everything held about the candidate of one interview, read in one transaction, for an access request:
 * the interview and its questions, answers, every scoring sample, score events and per-second signals,
 * consents, reviews, self-identification and the media index.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { CandidateExport } from "../../schemas/CandidateData.ts"
import { listConsents } from "./Consents.ts"
import { readDemographics } from "./Demographics.ts"
import type { InterviewRecord } from "./Interviews.ts"
import { toReview } from "./Reviews.ts"
import { fromJson, toIso } from "./Rows.ts"

export const readCandidateExport = (
  interview: InterviewRecord
): Effect.Effect<typeof CandidateExport.Type, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const id = interview.id
    return yield* Effect.gen(function* () {
      const answers = yield* sql`
        SELECT id, question_id, source, body, created_at FROM answers WHERE interview_id = ${id} ORDER BY created_at, id`
      const scores = yield* sql`
        SELECT s.answer_id, s.sample, s.scorer, s.model, s.created_at, s.result
        FROM answer_scores s JOIN answers a ON a.id = s.answer_id
        WHERE a.interview_id = ${id} ORDER BY s.answer_id, s.sample`
      const events = yield* sql`SELECT seq, tag, at, payload FROM score_events WHERE interview_id = ${id} ORDER BY seq`
      const windows = yield* sql`SELECT * FROM score_windows WHERE interview_id = ${id} ORDER BY second`
      const reviews = yield* sql`SELECT * FROM reviews WHERE interview_id = ${id} ORDER BY created_at, id`
      const media = yield* sql`
        SELECT key, kind, content_type, bytes, created_at FROM media_objects WHERE interview_id = ${id}
        ORDER BY created_at, key`
      const videos = yield* sql`
        SELECT job_id, question_id, media_key, summary::text AS summary, created_at FROM video_analyses
        WHERE interview_id = ${id} ORDER BY created_at, job_id`
      const consents = yield* listConsents(id)
      const demographics = yield* readDemographics(id)
      const { tenantId: _tenant, ...shown } = interview
      return {
        exportedAt: new Date().toISOString(),
        interview: shown,
        answers: answers.map((r: any) => ({
          id: r.id,
          questionId: r.question_id,
          source: r.source,
          body: r.body,
          createdAt: toIso(r.created_at)
        })),
        answerScores: scores.map((r: any) => ({
          answerId: r.answer_id,
          sample: r.sample,
          scorer: r.scorer,
          model: r.model,
          createdAt: toIso(r.created_at),
          result: fromJson<unknown>(r.result)
        })),
        scoreEvents: events.map((r: any) => ({
          seq: r.seq,
          tag: r.tag,
          at: toIso(r.at),
          payload: fromJson<unknown>(r.payload)
        })),
        scoreWindows: windows.map((r: any) => ({
          second: r.second,
          questionId: r.question_id ?? null,
          frames: r.frames,
          facePresence: Number(r.face_present),
          blinks: r.blinks,
          emotion: r.emotion === null ? null : fromJson<unknown>(r.emotion)
        })),
        consents,
        reviews: reviews.map(toReview),
        demographics,
        videoAnalyses: videos.map((r: any) => ({
          jobId: r.job_id,
          questionId: r.question_id,
          mediaKey: r.media_key,
          summary: JSON.parse(r.summary) as unknown,
          createdAt: toIso(r.created_at)
        })),
        media: media.map((r: any) => ({
          key: r.key,
          kind: r.kind,
          contentType: r.content_type,
          bytes: r.bytes,
          createdAt: toIso(r.created_at)
        }))
      }
    }).pipe(sql.withTransaction)
  }).pipe(Effect.withSpan("CandidateExport.read"))
