/**
 * Durable answer scoring. Answers are enqueued by the database itself when stored (see migration 0003); workers
 * claim due jobs under a lease, grade the samples still missing — each stored as soon as it is graded — and end
 * the claim as done, failed, or due again later.
 *
 * - A crash leaves the lease to expire; the next claim resumes with the samples that are still missing.
 * - Grading failures (all keys unavailable, deadline, API errors, unusable model output) are retried with
 *   exponential backoff (at least what the API asked for); after `maxAttempts` the answer is scored from the
 *   samples obtained, or marked failed with the reason when there are none. Nothing is dropped silently.
 * - Answers the scorer refuses as input (empty, too long) fail at once: retrying cannot help.
 */
import { Context, Effect, Layer, Metric, Random, Result } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import type { AnswerScore } from "../../schemas/AnswerScore.ts"
import { byLabels, Metrics, polled } from "../Metrics.ts"
import { startQueueWorkers } from "../store/QueueWorkers.ts"
import { type ClaimedJob, type JobOutcome, makeScoringJobs } from "../store/ScoringJobs.ts"
import type { AnswerScoringError } from "./AnswerErrors.ts"
import { AnswerScorer } from "./AnswerScorer.ts"
import type { AnswersConfig } from "./AnswersConfig.ts"
import { backoffMs } from "./internal/retryPolicy.ts"

export interface ScoringSettings {
  /** Jobs one process scores at the same time. */
  readonly concurrency: number
  /** Claims of one answer before it is given up (a claim cut short by a crash counts). */
  readonly maxAttempts: number
  readonly backoffBaseMs: number
  readonly backoffMaxMs: number
  /** How long a claim is exclusive; longer than the scorer's per-answer deadline. */
  readonly leaseMs: number
  /** How often the idle workers, between them, look for due jobs (a new answer of this process wakes one at once). */
  readonly pollIntervalMs: number
  /** Gradings per answer when the model scorer is in use (the offline heuristic has one). */
  readonly samples: number
}

/** Defaults for `answers`: the lease outlasts the per-answer deadline by 30 s. */
export const scoringSettingsFor = (
  answers: Pick<AnswersConfig, "perAnswerDeadlineMs" | "samples">,
  overrides: Partial<ScoringSettings> = {}
): ScoringSettings => ({
  concurrency: 4,
  maxAttempts: 8,
  backoffBaseMs: 10_000,
  backoffMaxMs: 15 * 60_000,
  leaseMs: answers.perAnswerDeadlineMs + 30_000,
  pollIntervalMs: 1_000,
  samples: answers.samples,
  ...overrides
})

export interface ScoringQueueShape {
  /** Claims up to `limit` due jobs (default: the concurrency) and scores them; returns how many were claimed. */
  readonly runOnce: (limit?: number) => Effect.Effect<number, SqlError>
  /** Runs until no job is due; returns how many claims were processed. */
  readonly drain: Effect.Effect<number, SqlError>
  /** Claims without scoring, as a worker that then dies would (for recovery tests and tooling). */
  readonly claim: (limit: number) => Effect.Effect<ReadonlyArray<ClaimedJob>, SqlError>
  /** Scores one claimed job and ends its claim. */
  readonly process: (job: ClaimedJob) => Effect.Effect<JobOutcome, SqlError>
  /** Tells idle workers of this process that a new answer was stored. */
  readonly wake: Effect.Effect<void>
  readonly settings: ScoringSettings
}

const inputErrors = new Set(["EmptyAnswer", "AnswerTooLong"])

/** `candor_answer_scoring_total{outcome}`: done, failed, pending (retried later) or lease_lost. */
const scoringOutcomes = byLabels((attributes) =>
  Metric.counter("candor_answer_scoring_total", {
    description: "Ends of answer scoring claims by outcome.",
    attributes,
    incremental: true
  })
)

const backlogGauge = Metric.gauge("candor_answer_scoring_backlog", {
  description: "Answers waiting to be scored or being scored (every engine's; read every 15 s)."
})

type SampleFailure = AnswerScoringError | SqlError

const describe = (e: SampleFailure): string => (e._tag === "SqlError" ? `database: ${e.message}` : e.message)

export const make = (settings: ScoringSettings) =>
  Effect.gen(function* () {
    const scorer = yield* AnswerScorer
    const metrics = yield* Metrics
    const jobs = yield* makeScoringJobs

    const count = (outcome: string) => metrics.update(scoringOutcomes({ outcome }), 1)

    const decide = (
      job: ClaimedJob,
      stored: number,
      failures: ReadonlyArray<SampleFailure>
    ): Effect.Effect<JobOutcome> =>
      Effect.gen(function* () {
        if (stored >= job.samplesRequested) return { state: "done", note: null }
        const refused = failures.find((f) => inputErrors.has(f._tag))
        if (refused !== undefined) return { state: "failed", reason: describe(refused) }
        const last = failures[failures.length - 1]
        const reason = last === undefined ? "the process stopped while scoring" : describe(last)
        if (job.attempts >= settings.maxAttempts) {
          return stored > 0
            ? {
                state: "done",
                note: `${stored} of ${job.samplesRequested} gradings obtained in ${job.attempts} attempts; last error: ${reason}`
              }
            : { state: "failed", reason: `gave up after ${job.attempts} attempts: ${reason}` }
        }
        const asked = Math.max(0, ...failures.map((f) => (f._tag === "AllKeysUnavailable" ? (f.retryAfterMs ?? 0) : 0)))
        const backoff = backoffMs(settings.backoffBaseMs, job.attempts, settings.backoffMaxMs, yield* Random.next)
        return { state: "pending", reason, retryInMs: Math.min(settings.backoffMaxMs, Math.max(asked, backoff)) }
      })

    const gradeMissing = (job: ClaimedJob, missing: ReadonlyArray<number>) =>
      Effect.forEach(
        missing,
        (sample) =>
          scorer.score({ answerId: job.answerId, question: job.question, answerText: job.answerText, samples: 1 }).pipe(
            Effect.tap((score: AnswerScore) => jobs.writeSample(job.answerId, sample, score)),
            Effect.result
          ),
        { concurrency: "unbounded" }
      )

    const process = (claimed: ClaimedJob): Effect.Effect<JobOutcome, SqlError> =>
      Effect.gen(function* () {
        // The heuristic is deterministic: more than one sample of it would repeat the same score.
        const job = scorer.kind === "openai" ? claimed : { ...claimed, samplesRequested: 1 }
        const existing = claimed.stored()
        let outcome: JobOutcome
        if (job.attempts > settings.maxAttempts || existing.some((s) => s.score.scorer !== scorer.kind)) {
          // Out of attempts (the last claim died), or graded by another engine before a restart: keep what exists.
          outcome = yield* decide(
            { ...job, attempts: Math.max(job.attempts, settings.maxAttempts) },
            existing.length,
            []
          )
        } else {
          const have = new Set(existing.map((s) => s.sample))
          const missing = Array.from({ length: job.samplesRequested }, (_, i) => i).filter((i) => !have.has(i))
          const results = yield* gradeMissing(job, missing)
          const failures = results.filter(Result.isFailure).map((r) => r.failure)
          outcome = yield* decide(job, existing.length + results.length - failures.length, failures)
        }
        const owned = yield* jobs.finish(job, outcome)
        count(owned ? outcome.state : "lease_lost")
        if (outcome.state !== "done") {
          yield* Effect.logWarning(
            `answer ${job.answerId}: scoring ${outcome.state === "failed" ? "failed" : "will be retried"}: ${outcome.reason}`
          )
        }
        return outcome
      }).pipe(
        // On shutdown the claim is handed back so another process can take it without waiting for the lease.
        Effect.onInterrupt(() => Effect.ignore(jobs.release(claimed))),
        Effect.withSpan("ScoringQueue.process", {
          attributes: { answerId: claimed.answerId, attempt: claimed.attempts }
        })
      )

    const claim = (limit: number) =>
      jobs.claim({
        limit,
        leaseMs: settings.leaseMs,
        samples: scorer.kind === "openai" ? settings.samples : 1,
        scorer: scorer.kind
      })

    const runOnce = (limit = settings.concurrency) =>
      // A claim completes even when the worker is being stopped: one made and then dropped would hold its job until
      // the lease expires. A stop after it hands every claim it made back (a finished job is left as it is).
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const claimed = yield* claim(limit)
          yield* restore(Effect.forEach(claimed, process, { concurrency: "unbounded", discard: true })).pipe(
            Effect.onInterrupt(() =>
              Effect.forEach(claimed, (job) => Effect.ignore(jobs.release(job)), { discard: true })
            )
          )
          return claimed.length
        })
      )

    const drain = Effect.gen(function* () {
      let total = 0
      while (true) {
        const n = yield* runOnce()
        if (n === 0) return total
        total += n
      }
    })

    return { runOnce, drain, claim, process, settings }
  })

/** Durable answer scoring; see the module notes. */
export class ScoringQueue extends Context.Service<ScoringQueue, ScoringQueueShape>()("candor/answers/ScoringQueue") {
  /** The queue without background workers (call `runOnce` / `drain` yourself; `wake` does nothing). */
  static readonly layer = (settings: ScoringSettings) =>
    Layer.effect(
      ScoringQueue,
      Effect.map(make(settings), (queue) => ({ ...queue, wake: Effect.void }))
    )

  /**
   * The queue with `concurrency` background workers, stopped when the layer's scope closes. Idle, they look for
   * due answers once per `pollIntervalMs` between them, and a stored answer wakes one (see `startQueueWorkers`).
   */
  static readonly layerWithWorkers = (settings: ScoringSettings) =>
    Layer.effect(
      ScoringQueue,
      Effect.gen(function* () {
        const queue = yield* make(settings)
        const wake = yield* startQueueWorkers({
          concurrency: settings.concurrency,
          pollIntervalMs: settings.pollIntervalMs,
          runOnce: queue.runOnce(1),
          name: "answer scoring worker"
        })
        // The queue's length for alerts, shared by every engine: read every 15 s.
        yield* polled(backlogGauge, (yield* makeScoringJobs).backlog, "15 seconds")
        return { ...queue, wake }
      })
    )
}
