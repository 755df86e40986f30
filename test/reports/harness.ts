/**
 * Service-level helpers of the scoring and report tests: interviews created straight in the store, answers and
 * finish through `AnswerIntake` (what the HTTP routes call: the interview's actor), a live session's signal rows
 * through the session writer (what the socket engine writes), and the queue driven by hand until every job has
 * ended.
 */
import { Effect, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { EMOTIONS } from "../../schemas/Emotions.ts"
import type { QuestionInput } from "../../schemas/Rubric.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import { AnswerIntake } from "../../src/answers/AnswerIntake.ts"
import { ScoringQueue } from "../../src/answers/ScoringQueue.ts"
import { ReportAggregator } from "../../src/reports/ReportAggregator.ts"
import { recordConsent } from "../../src/store/Consents.ts"
import { type InterviewRecord, Interviews } from "../../src/store/Interviews.ts"
import { makeSqlWriter, type SessionWrite } from "../../src/store/SessionWrites.ts"
import { type AffectPolicy, Tenants } from "../../src/store/Tenants.ts"
import type { TestServer } from "../support/TestServer.ts"

export const questions: ReadonlyArray<QuestionInput> = [
  {
    prompt: "How do you keep a cache consistent with the database?",
    expectedPoints: ["invalidate on write", "time-to-live"]
  },
  {
    prompt: "How would you design a rate limiter?",
    rubric: {
      criteria: [
        { id: "design", name: "Design", description: "token bucket, sliding window, distributed counters", weight: 2 },
        { id: "tradeoffs", name: "Trade-offs", weight: 1 }
      ]
    }
  }
]

export const answers = [
  "I invalidate the cached entry whenever the row is written. Every entry also has a short time-to-live, so stale data ages out.",
  "A token bucket per client in Redis. Counters are shared across nodes, at the cost of one round trip per request."
]

export const createInterview = (
  server: TestServer,
  options: {
    affect?: AffectPolicy
    weights?: Record<string, number>
    questions?: ReadonlyArray<QuestionInput>
    /** The candidate's consent to data processing and affect analysis is recorded unless false. */
    consent?: boolean
  } = {}
): Promise<InterviewRecord> =>
  server.run(
    Effect.gen(function* () {
      const tenant = yield* Effect.flatMap(Tenants, (t) =>
        t.create({
          name: "Scoring tenant",
          affectPolicy: options.affect ?? "enabled",
          ...(options.weights === undefined ? {} : { scoreWeights: options.weights })
        })
      )
      const interview = yield* Effect.flatMap(Interviews, (i) =>
        i.create(
          tenant.id,
          { candidate: { name: "Sam Sample" }, questions: options.questions ?? questions },
          tenant.affectPolicy === "enabled"
        )
      )
      if (options.consent !== false) {
        for (const kind of ["data_processing", "affect_analysis"] as const)
          yield* recordConsent(interview, { kind, granted: true, noticeVersion: "1" })
      }
      return interview
    })
  )

/** The interview as stored now (status changes after `finish`). */
export const reload = (server: TestServer, interview: InterviewRecord) =>
  server.run(
    Effect.flatMap(Interviews, (i) => i.get(interview.tenantId, interview.id)).pipe(Effect.map(Option.getOrThrow))
  )

export const submit = (server: TestServer, interview: InterviewRecord, index: number, text = answers[index]!) =>
  server.run(Effect.flatMap(AnswerIntake, (i) => i.submitText(interview, interview.questions[index]!.id, text)))

export const finish = (server: TestServer, interview: InterviewRecord) =>
  server.run(Effect.flatMap(AnswerIntake, (i) => i.finish(interview)))

export interface JobState {
  readonly answer_id: string
  readonly state: string
  readonly attempts: number
  readonly last_error: string | null
  readonly samples_requested: number | null
}

export const jobs = (server: TestServer, interviewId: string) =>
  server.run(
    Effect.flatMap(
      SqlClient.SqlClient,
      (sql) =>
        sql<JobState>`SELECT answer_id, state, attempts, last_error, samples_requested FROM scoring_jobs
                      WHERE interview_id = ${interviewId} ORDER BY answer_id`
    )
  )

export const scoreRows = (server: TestServer, answerId: string) =>
  server.run(
    Effect.flatMap(
      SqlClient.SqlClient,
      (sql) =>
        sql<{ sample: number; scorer: string; model: string; prompt_version: string; temperature: number }>`
          SELECT sample, scorer, model, prompt_version, temperature FROM answer_scores
          WHERE answer_id = ${answerId} ORDER BY sample`
    )
  )

/** Drives the queue until every job of the interview has ended (retries wait for their backoff). */
export const settle = async (server: TestServer, interviewId: string, rounds = 400) => {
  for (let i = 0; i < rounds; i++) {
    await server.run(Effect.flatMap(ScoringQueue, (q) => q.drain))
    const open = (await jobs(server, interviewId)).filter((j) => j.state === "pending" || j.state === "running")
    if (open.length === 0) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`jobs of ${interviewId} never settled: ${JSON.stringify(await jobs(server, interviewId))}`)
}

export const rebuild = (server: TestServer, interview: InterviewRecord) =>
  server.run(Effect.flatMap(ReportAggregator, (a) => a.rebuild(interview)))

export const report = (server: TestServer, interview: InterviewRecord) =>
  server.run(Effect.flatMap(ReportAggregator, (a) => a.report(interview)))

/** A deterministic distribution leaning towards `lead`. */
const emotionAt = (second: number) => {
  const lead = EMOTIONS[second % 3 === 0 ? 3 : 6]!
  return Object.fromEntries(EMOTIONS.map((e) => [e, e === lead ? 0.7 : 0.05])) as Record<
    (typeof EMOTIONS)[number],
    number
  >
}

/**
 * What a live session stores for `seconds` seconds of video split over the questions: per-second windows,
 * attention events and two keyframes — through the session writer the socket engine uses. Without affect
 * signals the windows carry no emotion and no blinks, as the engine writes them.
 */
export const recordSession = (server: TestServer, interview: InterviewRecord, seconds: number) =>
  server.run(
    Effect.gen(function* () {
      const writer = makeSqlWriter(yield* SqlClient.SqlClient)
      const affect = interview.affectSignals
      const start = Date.parse("2030-01-01T10:00:00Z")
      const writes: Array<SessionWrite> = []
      // Numbered apart from the events of the interview's actor (its answers and finish go through it).
      let seq = 10_000
      for (let s = 0; s < seconds; s++) {
        const questionId =
          interview.questions[
            Math.min(interview.questions.length - 1, Math.floor((s * interview.questions.length) / seconds))
          ]!.id
        const facePresence = s % 10 === 9 ? 0.5 : 1
        writes.push({
          _tag: "Window",
          interviewId: interview.id,
          row: {
            second: s,
            questionId,
            frames: 10,
            facePresence,
            blinks: affect ? (s % 4 === 0 ? 1 : 0) : null,
            earMean: affect ? 0.3 : null,
            emotion: affect ? emotionAt(s) : null
          }
        })
        const event: ScoreEvent = {
          _tag: "attention",
          interviewId: interview.id,
          seq: seq++,
          at: start + s * 1000,
          second: s,
          questionId,
          frames: 10,
          facePresence,
          multipleFaces: s === 5 ? 0.2 : 0
        }
        writes.push({ _tag: "Event", interviewId: interview.id, event })
      }
      for (const [i, reason] of ["periodic", "faceLost"].entries()) {
        writes.push({
          _tag: "Media",
          interviewId: interview.id,
          key: `${interview.id}/keyframe/${i}.jpg`,
          kind: "keyframe",
          contentType: "image/jpeg",
          bytes: 1234,
          detail: { reason, second: i * 9 }
        })
      }
      yield* writer.write(writes)
    })
  )
