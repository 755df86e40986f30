/**
 * Everything a report is built from, read from the system of record in one snapshot (a single transaction):
 * the interview, the tenant's score weights, answers, scoring jobs and sample scores, score windows, attention
 * events, the media index, the reviews and the analyses of uploaded videos. Rows come back in a fixed order so building is deterministic.
 */
import { Effect, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { type AnswerScore, AnswerScore as AnswerScoreSchema } from "../../schemas/AnswerScore.ts"
import type { EmotionScores } from "../../schemas/FrameAnalysis.ts"
import type { Consent } from "../../schemas/Consent.ts"
import type { Review } from "../../schemas/Report.ts"
import { listConsents } from "./Consents.ts"
import type { InterviewRecord } from "./Interviews.ts"
import { toReview } from "./Reviews.ts"
import { fromJson, toIso } from "./Rows.ts"
import { listVideoAnalyses, type VideoAnalysisRow } from "./VideoAnalyses.ts"

/** One stored second of video. */
export interface WindowRow {
  readonly second: number
  readonly questionId: string | null
  readonly frames: number
  readonly facePresence: number
  readonly blinks: number | null
  readonly emotion: EmotionScores | null
}

/** The part of an `attention` score event a report uses. */
export interface AttentionRow {
  readonly frames: number
  readonly multipleFaces: number
}

export interface AnswerRow {
  readonly id: string
  readonly questionId: string
  readonly source: "text" | "audio"
  readonly body: string
  readonly createdAt: string
  readonly transcriptionModel: string | null
}

export interface JobRow {
  readonly answerId: string
  readonly state: "pending" | "running" | "done" | "failed"
  readonly attempts: number
  readonly samplesRequested: number | null
  readonly lastError: string | null
}

export interface SampleRow {
  readonly answerId: string
  readonly sample: number
  readonly score: AnswerScore
}

export interface MediaRow {
  readonly key: string
  readonly kind: string
  readonly contentType: string
  readonly bytes: number
  readonly createdAt: string
  readonly detail: Record<string, unknown>
}

export interface ReportInputs {
  readonly interview: InterviewRecord
  readonly scoreWeights: Readonly<Record<string, unknown>>
  readonly answers: ReadonlyArray<AnswerRow>
  readonly jobs: ReadonlyArray<JobRow>
  readonly samples: ReadonlyArray<SampleRow>
  readonly windows: ReadonlyArray<WindowRow>
  readonly attention: ReadonlyArray<AttentionRow>
  readonly media: ReadonlyArray<MediaRow>
  readonly reviews: ReadonlyArray<Review>
  /** The candidate's consent decisions, oldest first, and the tenant's current notice version. */
  readonly consents: ReadonlyArray<typeof Consent.Type>
  readonly noticeVersion: string
  /** Analyses of uploaded videos, oldest first. */
  readonly videos: ReadonlyArray<VideoAnalysisRow>
}

const decodeScore = Schema.decodeUnknownSync(AnswerScoreSchema)

const AttentionPayload = Schema.Struct({ frames: Schema.Number, multipleFaces: Schema.Number })
const decodeAttention = Schema.decodeUnknownOption(AttentionPayload)

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

/** Reads the inputs of `interview`'s report in one transaction. */
const loadReportInputs = (
  sql: SqlClient.SqlClient,
  interview: InterviewRecord
): Effect.Effect<ReportInputs, SqlError> =>
  Effect.gen(function* () {
    const id = interview.id
    const tenant = yield* sql`SELECT score_weights, notice_version FROM tenants WHERE id = ${interview.tenantId}`
    const answers = yield* sql`
      SELECT id, question_id, source, body, created_at, transcription FROM answers
      WHERE interview_id = ${id} ORDER BY created_at, id`
    const jobs = yield* sql`
      SELECT answer_id, state, attempts, samples_requested, last_error FROM scoring_jobs
      WHERE interview_id = ${id} ORDER BY answer_id`
    const samples = yield* sql`
      SELECT s.answer_id, s.sample, s.result FROM answer_scores s JOIN answers a ON a.id = s.answer_id
      WHERE a.interview_id = ${id} ORDER BY s.answer_id, s.sample`
    const windows = yield* sql`SELECT * FROM score_windows WHERE interview_id = ${id} ORDER BY second`
    const attention = yield* sql`
      SELECT payload FROM score_events WHERE interview_id = ${id} AND tag = 'attention' ORDER BY seq`
    const media = yield* sql`SELECT * FROM media_objects WHERE interview_id = ${id} ORDER BY created_at, key`
    const reviews = yield* sql`SELECT * FROM reviews WHERE interview_id = ${id} ORDER BY created_at, id`
    const consents = yield* listConsents(id).pipe(Effect.provideService(SqlClient.SqlClient, sql))
    const videos = yield* listVideoAnalyses(id).pipe(Effect.provideService(SqlClient.SqlClient, sql))
    return {
      interview,
      scoreWeights: fromJson<Record<string, unknown> | null>((tenant[0] as any)?.score_weights ?? null) ?? {},
      consents,
      noticeVersion: String((tenant[0] as any)?.notice_version ?? "1"),
      answers: answers.map((r: any) => ({
        id: r.id,
        questionId: r.question_id,
        source: r.source,
        body: r.body,
        createdAt: toIso(r.created_at),
        transcriptionModel: fromJson<{ model?: string } | null>(r.transcription ?? null)?.model ?? null
      })),
      jobs: jobs.map((r: any) => ({
        answerId: r.answer_id,
        state: r.state,
        attempts: r.attempts,
        samplesRequested: r.samples_requested,
        lastError: r.last_error
      })),
      samples: samples.map((r: any) => ({
        answerId: r.answer_id,
        sample: r.sample,
        score: decodeScore(fromJson(r.result))
      })),
      windows: windows.map(
        (r: any): WindowRow => ({
          second: r.second,
          questionId: r.question_id,
          frames: r.frames,
          facePresence: Number(r.face_present),
          blinks: numberOrNull(r.blinks),
          emotion: r.emotion === null ? null : fromJson<EmotionScores>(r.emotion)
        })
      ),
      attention: attention.flatMap((r: any) => {
        const decoded = decodeAttention(fromJson(r.payload))
        return decoded._tag === "Some" ? [decoded.value] : []
      }),
      media: media.map((r: any) => ({
        key: r.key,
        kind: r.kind,
        contentType: r.content_type,
        bytes: r.bytes,
        createdAt: toIso(r.created_at),
        detail: r.detail === undefined || r.detail === null ? {} : fromJson<Record<string, unknown>>(r.detail)
      })),
      reviews: reviews.map(toReview),
      videos
    }
  }).pipe(sql.withTransaction, Effect.withSpan("ReportInputs.load"))

/** The report inputs reader over the SQL client of the context. */
export const makeReportInputsReader = Effect.map(
  SqlClient.SqlClient,
  (sql) =>
    (interview: InterviewRecord): Effect.Effect<ReportInputs, SqlError> =>
      loadReportInputs(sql, interview)
)
