/**
 * Uploaded-video analyses (table `video_analyses`): the summary of one analysed video per job, written whole in one
 * transaction at the job's end. Writing again for the same job replaces the row, so a job re-run after its engine
 * was killed leaves one result. Writing drops the interview's cached report, which is rebuilt with the new signals.
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { VideoSummary } from "../../schemas/VideoAnalysis.ts"
import { fromJson, toIso } from "./Rows.ts"

export interface VideoAnalysisRow {
  readonly jobId: string
  readonly interviewId: string
  readonly questionId: string
  readonly mediaKey: string
  readonly summary: VideoSummary
  readonly createdAt: string
}

export interface SaveVideoAnalysis {
  readonly jobId: string
  readonly tenantId: string
  readonly interviewId: string
  readonly questionId: string
  readonly mediaKey: string
  readonly summary: VideoSummary
}

const decodeSummary = Schema.decodeUnknownOption(VideoSummary)

/** Rows whose summary no longer decodes (a format this build does not know) are left out. */
export const toVideoAnalysis = (row: any): ReadonlyArray<VideoAnalysisRow> => {
  const summary = decodeSummary(fromJson(row.summary))
  return summary._tag === "None"
    ? []
    : [
        {
          jobId: row.job_id,
          interviewId: row.interview_id,
          questionId: row.question_id,
          mediaKey: row.media_key,
          summary: summary.value,
          createdAt: toIso(row.created_at)
        }
      ]
}

/** The interview's analyses, oldest first, over the SQL client of the context. */
export const listVideoAnalyses = (
  interviewId: string
): Effect.Effect<ReadonlyArray<VideoAnalysisRow>, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT * FROM video_analyses WHERE interview_id = ${interviewId} ORDER BY created_at, job_id`.pipe(
      Effect.map((rows) => rows.flatMap(toVideoAnalysis))
    )
  )

export interface VideoAnalysesShape {
  /**
   * Stores (or replaces) the job's analysis and drops the interview's cached report, in one transaction. False, and
   * nothing written, when the interview or its question is gone (erased while the job ran).
   */
  readonly save: (analysis: SaveVideoAnalysis) => Effect.Effect<boolean, SqlError>
  readonly forInterview: (interviewId: string) => Effect.Effect<ReadonlyArray<VideoAnalysisRow>, SqlError>
  readonly forJob: (jobId: string) => Effect.Effect<VideoAnalysisRow | undefined, SqlError>
}

export class VideoAnalyses extends Context.Service<VideoAnalyses, VideoAnalysesShape>()("candor/VideoAnalyses") {
  static readonly layer = Layer.effect(
    VideoAnalyses,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return {
        save: (a) =>
          Effect.gen(function* () {
            const rows = yield* sql`
              INSERT INTO video_analyses (job_id, tenant_id, interview_id, question_id, media_key, summary)
              SELECT ${a.jobId}, i.tenant_id, i.id, q.id, ${a.mediaKey}, ${JSON.stringify(a.summary)}::jsonb
              FROM interviews i JOIN questions q ON q.interview_id = i.id
              WHERE i.id = ${a.interviewId} AND i.tenant_id = ${a.tenantId} AND q.id = ${a.questionId}
              ON CONFLICT (job_id) DO UPDATE SET summary = EXCLUDED.summary, media_key = EXCLUDED.media_key
              RETURNING job_id`
            if (rows.length === 0) return false
            yield* sql`DELETE FROM reports WHERE interview_id = ${a.interviewId}`
            return true
          }).pipe(sql.withTransaction, Effect.withSpan("VideoAnalyses.save")),
        forInterview: (interviewId) =>
          listVideoAnalyses(interviewId).pipe(
            Effect.provideService(SqlClient.SqlClient, sql),
            Effect.withSpan("VideoAnalyses.forInterview")
          ),
        forJob: (jobId) =>
          sql`SELECT * FROM video_analyses WHERE job_id = ${jobId}`.pipe(
            Effect.map((rows) => rows.flatMap(toVideoAnalysis)[0])
          )
      }
    })
  )
}
