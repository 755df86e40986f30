/**
 * Durable jobs: work that must finish even if the engine is killed while doing it (an uploaded video's analysis,
 * marking an abandoned interview, a retention sweep). A job is a row: it is claimed under a lease by one engine at a
 * time, renewed while its handler runs, and ended only by the holder of the lease, so a job whose engine died is
 * taken over when the lease runs out and every job ends once. Handlers are written to be re-run from the start
 * after such a takeover (they replace what they write, keyed by the job), which makes "exactly once" hold in effect.
 *
 * Why not effect's workflow engine: it persists through the cluster's SQL storage, which needs the cluster runners
 * (not on embedded defaults); the scoring queue already proved this lease-and-fence pattern on PGlite and Postgres.
 */
import { Context, Data, type Effect } from "effect"
import type { SqlError } from "effect/sql/SqlError"

export type JobStatus = "queued" | "running" | "succeeded" | "failed"

export interface JobView {
  readonly id: string
  readonly kind: string
  readonly status: JobStatus
  /** 0…1, as last reported by the handler. */
  readonly progress: number
  /** Why the job failed (status `failed`), or why its last attempt failed while it is retried. */
  readonly error: string | null
  readonly attempts: number
  readonly tenantId: string | null
  readonly interviewId: string | null
  /** What the handler returned (JSON), once succeeded. */
  readonly result: unknown
  readonly createdAt: string
  readonly updatedAt: string
  readonly finishedAt: string | null
}

export interface EnqueueOptions {
  /** At most one job per key ever: enqueueing the same key again returns the existing job. */
  readonly key?: string
  /** Not before this time (default: now). */
  readonly runAt?: Date
  readonly tenantId?: string
  readonly interviewId?: string
  /** Attempts before the job fails for good (default 5). */
  readonly maxAttempts?: number
}

/** A handler's failure. `retry: false` fails the job at once (bad input); otherwise it is tried again later. */
export class JobFailed extends Data.TaggedError("JobFailed")<{
  readonly message: string
  readonly retry: boolean
  /** When to try again (default: exponential backoff from 1 s). */
  readonly retryInMs?: number
}> {}

export interface JobContext<P> {
  readonly id: string
  readonly payload: P
  /** Including this one. */
  readonly attempt: number
  readonly tenantId: string | null
  readonly interviewId: string | null
  /** Records progress (0…1); cheap to call often (written at most a few times a second). */
  readonly progress: (fraction: number) => Effect.Effect<void>
}

export interface JobHandler<P = any, R = never> {
  readonly kind: string
  readonly run: (job: JobContext<P>) => Effect.Effect<unknown, JobFailed, R>
  /** How long a claim lasts without renewal (default 30 s); renewed every third of it while the handler runs. */
  readonly leaseMs?: number
  /** Recurring: one job of this kind per period of this many ms (payload `{}`), across all engines. */
  readonly everyMs?: number
}

export interface JobsShape {
  readonly enqueue: (
    kind: string,
    payload: unknown,
    options?: EnqueueOptions
  ) => Effect.Effect<{ readonly id: string; readonly created: boolean }, SqlError>
  readonly get: (id: string) => Effect.Effect<JobView | undefined, SqlError>
}

export class Jobs extends Context.Service<Jobs, JobsShape>()("candor/jobs/Jobs") {}

/** The handlers this engine runs, by kind; the runner claims only jobs of these kinds. */
export class JobHandlers extends Context.Service<JobHandlers, ReadonlyArray<JobHandler<any, any>>>()(
  "candor/jobs/JobHandlers"
) {}
