/**
 * Runs durable jobs in this engine: claims due jobs of the kinds it has handlers for (at most `JOB_CONCURRENCY`
 * at once), renews each claim while its handler runs, and ends it — succeeded, retried later with backoff, or
 * failed — fenced by the lease. A job whose claim is lost (the lease ran out while this engine stalled, and another
 * took it) is interrupted here and left to the new holder. On shutdown running jobs are interrupted and handed
 * back, due at once, the attempt not counted. Recurring handlers (`everyMs`) get one job per period, enqueued by
 * whichever engine comes first (the period is the job's key), so a sweep runs once per period across engines.
 * On an embedded database (one engine at a time) claims left by a killed run are taken up at once on start;
 * engines sharing Postgres wait for the lease to run out, since the claim may be another live engine's.
 */
import { Cause, Context, Effect, Exit, Fiber, Layer, Option, Queue } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { AppConfig } from "../config.ts"
import { type ClaimedJobRow, type JobRows, makeJobRows } from "../store/JobRows.ts"
import { JobFailed, type JobHandler, JobHandlers, Jobs } from "./Jobs.ts"

const DEFAULT_LEASE_MS = 30_000
/** Retries wait 1 s, 2 s, 4 s … at most 5 minutes (or what the handler asks for). */
const backoff = (attempt: number) => Math.min(5 * 60_000, 1000 * 2 ** Math.max(0, attempt - 1))
/** Finished runs of recurring kinds are kept this long. */
const KEEP_RECURRING_MS = 24 * 3600_000

/** The `Jobs` service over the database, waking this engine's runner when a job is enqueued here. */
const makeJobs = (rows: JobRows, wake: Queue.Queue<void>) =>
  Jobs.of({
    enqueue: (kind, payload, options) =>
      Effect.tap(rows.enqueue(kind, payload, options), () => Queue.offer(wake, undefined)),
    get: rows.get
  })

/** What one claimed job comes to: ended here (any outcome), lost to another engine, or handed back. */
const runClaimed = (
  rows: JobRows,
  handler: JobHandler<any, any>,
  job: ClaimedJobRow,
  context: Context.Context<any>
): Effect.Effect<void> => {
  const leaseMs = handler.leaseMs ?? DEFAULT_LEASE_MS
  let lastProgressAt = 0
  const progress = (fraction: number) =>
    Effect.suspend(() => {
      const now = Date.now()
      if (fraction < 1 && now - lastProgressAt < 250) return Effect.void
      lastProgressAt = now
      return Effect.ignore(rows.progress(job, fraction))
    })
  const work = Effect.provideContext(
    handler.run({
      id: job.id,
      payload: job.payload,
      attempt: job.attempts,
      tenantId: job.tenantId,
      interviewId: job.interviewId,
      progress
    }),
    context
  ) as Effect.Effect<unknown, JobFailed>
  // The claim is renewed every third of the lease; once it is lost, the work here stops.
  const heartbeat = Effect.gen(function* () {
    while (true) {
      yield* Effect.sleep(Math.max(100, Math.floor(Math.min(leaseMs, DEFAULT_LEASE_MS) / 3)))
      const held = yield* rows.renew(job, leaseMs).pipe(Effect.orElseSucceed(() => true))
      if (!held) return "lost" as const
    }
  })
  const ending = (exit: Exit.Exit<unknown, JobFailed>): Effect.Effect<boolean, SqlError> => {
    if (Exit.isSuccess(exit)) return rows.end(job, { state: "succeeded", result: exit.value })
    const failure = Cause.findErrorOption(exit.cause)
    const error: JobFailed = Option.isSome(failure)
      ? failure.value
      : new JobFailed({ message: `internal error: ${Cause.pretty(exit.cause).split("\n")[0]}`, retry: true })
    return error.retry && job.attempts < job.maxAttempts
      ? rows.end(job, { state: "queued", error: error.message, retryInMs: error.retryInMs ?? backoff(job.attempts) })
      : rows.end(job, { state: "failed", error: error.message })
  }
  return Effect.raceFirst(Effect.exit(work), heartbeat).pipe(
    Effect.flatMap((outcome) =>
      outcome === "lost"
        ? Effect.logWarning(`job ${job.id} (${job.kind}): claim lost to another engine; left to it`)
        : Effect.flatMap(ending(outcome), (ended) =>
            ended ? Effect.void : Effect.logWarning(`job ${job.id} (${job.kind}): claim lost before it ended`)
          )
    ),
    Effect.catchTag("SqlError", (e) =>
      Effect.logWarning(`job ${job.id} (${job.kind}): could not record its end (${e.message}); the lease decides`)
    ),
    Effect.onInterrupt(() => Effect.ignore(rows.release(job))),
    Effect.withSpan(`job ${job.kind}`)
  )
}

export const JobsLive = Layer.effect(
  Jobs,
  Effect.gen(function* () {
    const rows = yield* makeJobRows
    const wake = yield* JobWake
    return makeJobs(rows, wake)
  })
)

/** Wakes the runner of this engine when a job is enqueued here. */
export class JobWake extends Context.Service<JobWake, Queue.Queue<void>>()("candor/jobs/JobWake") {
  static readonly layer = Layer.effect(JobWake, Queue.unbounded<void>())
}

/** The runner: claims and runs due jobs until the scope closes. */
export const JobRunner = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const rows = yield* makeJobRows
    const handlers = yield* JobHandlers
    const wake = yield* JobWake
    const context = (yield* Effect.context<never>()) as Context.Context<any>
    const byKind = new Map(handlers.map((h) => [h.kind, h]))
    const kinds = [...byKind.keys()]
    const recurring = handlers.filter((h) => (h.everyMs ?? 0) > 0)
    const lastPeriod = new Map<string, number>()
    const running = new Set<Fiber.Fiber<void>>()

    /** One job per period of each recurring kind; the first engine to get there enqueues it. */
    const schedule = Effect.gen(function* () {
      const now = Date.now()
      for (const h of recurring) {
        const every = h.everyMs!
        const period = Math.floor(now / every)
        if (lastPeriod.get(h.kind) === period) continue
        // The first run is one period after start, as the sweeps always did.
        if (!lastPeriod.has(h.kind)) {
          lastPeriod.set(h.kind, period)
          continue
        }
        yield* rows.enqueue(h.kind, {}, { key: `${h.kind}@${period}`, maxAttempts: 1 })
        lastPeriod.set(h.kind, period)
      }
      if (recurring.length > 0 && Math.random() < 0.01) {
        yield* rows.prune(
          recurring.map((h) => h.kind),
          KEEP_RECURRING_MS
        )
      }
    })

    const poll = Effect.gen(function* () {
      yield* schedule
      const room = config.jobConcurrency - running.size
      const claimed = yield* rows.claim({ kinds, limit: room, leaseMs: DEFAULT_LEASE_MS })
      for (const job of claimed) {
        const handler = byKind.get(job.kind)!
        // A handler with its own lease length gets it from its first renewal on.
        const fiber = yield* Effect.forkDetach(runClaimed(rows, handler, job, context))
        running.add(fiber)
        fiber.addObserver(() => {
          running.delete(fiber)
          Effect.runFork(Queue.offer(wake, undefined))
        })
      }
    }).pipe(
      Effect.catchTag("SqlError", (e) => Effect.logWarning(`jobs: database unavailable (${e.message})`)),
      // A defect in one poll (a row that cannot be read) is logged; the runner polls on.
      Effect.catchDefect((defect) => Effect.logError("jobs: a poll failed", defect)),
      Effect.withSpan("JobRunner.poll")
    )

    if (kinds.length === 0) return
    // The embedded database has one engine at a time: its claims found now were left by a run that was killed.
    if (config.databaseUrl === undefined) {
      const recovered = yield* rows.recoverOrphans.pipe(Effect.orElseSucceed(() => 0))
      if (recovered > 0) yield* Effect.logInfo(`jobs: ${recovered} left running by a previous run taken up again`)
    }
    yield* Effect.forkScoped(
      Effect.forever(Effect.andThen(poll, Effect.raceFirst(Queue.take(wake), Effect.sleep(config.jobPollMs))))
    )
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => Effect.forEach([...running], (f) => Fiber.interrupt(f), { discard: true }))
    )
  })
)
