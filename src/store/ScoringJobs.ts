/**
 * The SQL side of durable scoring: claiming due jobs under a lease, reading what a job needs, writing sample
 * rows, and ending or releasing a claim. One statement set for Postgres and PGlite alike (`FOR UPDATE SKIP
 * LOCKED` lets several workers claim side by side on Postgres; PGlite has one connection and needs nothing more).
 *
 * Every end of a claim is fenced by its lease token: a worker whose lease expired and was taken over cannot
 * overwrite the newer claim's outcome, and its late sample rows collide on (answer, sample) and are dropped.
 */
import { Effect, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { type AnswerScore, AnswerScore as AnswerScoreSchema, type ScorerKind } from "../../schemas/AnswerScore.ts"
import type { QuestionInput, Rubric } from "../../schemas/Rubric.ts"
import { fromJson } from "./Rows.ts"

/** A question as stored for an interview: the submitted input plus its id. */
export type JobQuestion = QuestionInput & { readonly id: string }

/** A job taken by one worker until `lease` ends or it is finished. */
export interface ClaimedJob {
  readonly answerId: string
  readonly interviewId: string
  /** Including this one. */
  readonly attempts: number
  readonly samplesRequested: number
  /** The engine that took the job first; samples of another engine are never mixed in. */
  readonly scorer: ScorerKind
  /** Lease token; ends of the claim are accepted only with it. */
  readonly owner: string
  readonly question: JobQuestion
  readonly answerText: string
  /**
   * Samples already stored for the answer when it was claimed (an earlier attempt's, or another engine's). Decoded
   * when called, by the job's own processing: a damaged row fails that job alone, not the claim of its batch.
   */
  readonly stored: () => ReadonlyArray<StoredSample>
}

export interface StoredSample {
  readonly sample: number
  readonly score: AnswerScore
}

export type JobOutcome =
  | { readonly state: "done"; readonly note: string | null }
  | { readonly state: "failed"; readonly reason: string }
  | { readonly state: "pending"; readonly reason: string; readonly retryInMs: number }

const decodeScore = Schema.decodeUnknownSync(AnswerScoreSchema)

const questionOf = (row: any): JobQuestion => {
  const rubric = row.rubric === null || row.rubric === undefined ? undefined : fromJson<Rubric>(row.rubric)
  const points = fromJson<ReadonlyArray<string> | null>(row.expected_points) ?? []
  return {
    id: row.question_id,
    prompt: row.prompt,
    ...(rubric === undefined ? {} : { rubric }),
    ...(points.length === 0 ? {} : { expectedPoints: points })
  }
}

/** The queue's statements over the SQL client of the context. */
export const makeScoringJobs = Effect.map(SqlClient.SqlClient, (sql) => {
  const claim = (options: {
    readonly limit: number
    readonly leaseMs: number
    readonly samples: number
    readonly scorer: ScorerKind
  }): Effect.Effect<ReadonlyArray<ClaimedJob>, SqlError> =>
    Effect.gen(function* () {
      const owner = crypto.randomUUID()
      // One round trip: the claim, what scoring the answer needs, and the samples an earlier attempt stored. A job
      // whose answer or question is gone stays claimed until its lease ends and is not returned (nothing to score).
      const rows = yield* sql`
        WITH claimed AS (
          UPDATE scoring_jobs SET
            state = 'running',
            attempts = attempts + 1,
            samples_requested = COALESCE(samples_requested, ${options.samples}),
            scorer = COALESCE(scorer, ${options.scorer}),
            lease_owner = ${owner},
            lease_until = now() + ${Math.round(options.leaseMs)}::int * interval '1 millisecond',
            updated_at = now()
          WHERE answer_id IN (
            SELECT answer_id FROM scoring_jobs
            WHERE (state = 'pending' AND next_attempt_at <= now()) OR (state = 'running' AND lease_until <= now())
            ORDER BY next_attempt_at, answer_id
            LIMIT ${options.limit}
            FOR UPDATE SKIP LOCKED)
          RETURNING answer_id, interview_id, attempts, samples_requested, scorer)
        SELECT c.answer_id, c.interview_id, c.attempts, c.samples_requested, c.scorer, a.body,
          q.id AS question_id, q.prompt, q.rubric, q.expected_points,
          (SELECT json_agg(json_build_object('sample', s.sample, 'result', s.result) ORDER BY s.sample)
            FROM answer_scores s WHERE s.answer_id = c.answer_id) AS samples
        FROM claimed c JOIN answers a ON a.id = c.answer_id JOIN questions q ON q.id = a.question_id
        ORDER BY c.answer_id`
      return rows.map(
        (r: any): ClaimedJob => ({
          answerId: r.answer_id,
          interviewId: r.interview_id,
          attempts: r.attempts,
          samplesRequested: r.samples_requested,
          scorer: r.scorer,
          owner,
          question: questionOf(r),
          answerText: r.body,
          stored: () =>
            (fromJson<ReadonlyArray<{ sample: number; result: unknown }> | null>(r.samples) ?? []).map((x) => ({
              sample: x.sample,
              score: decodeScore(fromJson(x.result))
            }))
        })
      )
    }).pipe(Effect.withSpan("ScoringJobs.claim"))

  /** Stores one sample; a second write of the same (answer, sample) changes nothing. */
  const writeSample = (answerId: string, sample: number, score: AnswerScore): Effect.Effect<void, SqlError> =>
    sql`
      INSERT INTO answer_scores (answer_id, sample, scorer, model, prompt_version, temperature, result)
      VALUES (${answerId}, ${sample}, ${score.scorer}, ${score.model}, ${score.promptVersion}, ${score.temperature},
              ${JSON.stringify(score)}::jsonb)
      ON CONFLICT (answer_id, sample) DO NOTHING`.pipe(Effect.asVoid, Effect.withSpan("ScoringJobs.writeSample"))

  /** Ends a claim; false when the lease was lost (another worker owns the job now). */
  const finish = (job: ClaimedJob, outcome: JobOutcome): Effect.Effect<boolean, SqlError> => {
    const error = outcome.state === "done" ? outcome.note : outcome.reason
    const delay = outcome.state === "pending" ? Math.max(0, Math.round(outcome.retryInMs)) : 0
    return sql`
      UPDATE scoring_jobs SET state = ${outcome.state}, last_error = ${error}, lease_owner = NULL, lease_until = NULL,
        next_attempt_at = now() + ${delay}::int * interval '1 millisecond', updated_at = now()
      WHERE answer_id = ${job.answerId} AND lease_owner = ${job.owner} AND state = 'running'
      RETURNING answer_id`.pipe(
      Effect.map((rows) => rows.length > 0),
      Effect.withSpan("ScoringJobs.finish")
    )
  }

  /** Hands a claim back unfinished (shutdown): due at once, and the attempt does not count. */
  const release = (job: ClaimedJob): Effect.Effect<void, SqlError> =>
    sql`
      UPDATE scoring_jobs SET state = 'pending', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL,
        lease_until = NULL, next_attempt_at = now(), updated_at = now()
      WHERE answer_id = ${job.answerId} AND lease_owner = ${job.owner} AND state = 'running'`.pipe(Effect.asVoid)

  /** Answers waiting to be scored or being scored, across every engine. */
  const backlog: Effect.Effect<number, SqlError> = sql`
    SELECT count(*) AS n FROM scoring_jobs WHERE state IN ('pending', 'running')`.pipe(
    Effect.map((rows) => Number((rows[0] as { n: string | number } | undefined)?.n ?? 0))
  )

  return { claim, writeSample, finish, release, backlog }
})
