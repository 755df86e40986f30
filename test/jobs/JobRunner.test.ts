/**
 * Durable jobs on both backends: a job runs once and records its progress and result; enqueueing by key is
 * idempotent; a failed attempt is retried with backoff and a bad input fails at once; a job whose engine died
 * mid-way (its claim never renewed) is taken over when the lease runs out and finishes once; a job interrupted by
 * shutdown is handed back, its attempt not counted.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Layer, Scope } from "effect"
import { JobRunner, JobsLive, JobWake } from "../../src/jobs/JobRunner.ts"
import { JobFailed, type JobHandler, JobHandlers, Jobs } from "../../src/jobs/Jobs.ts"
import { makeJobRows } from "../../src/store/JobRows.ts"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const backend of backends()) {
  describe(`durable jobs on ${backend.name}`, () => {
    let server: TestServer

    /** A runner of these handlers (besides the engine's own, which takes other kinds), until `stop`. */
    const runner = async (handlers: ReadonlyArray<JobHandler<any, any>>) => {
      const scope = await Effect.runPromise(Scope.make())
      // Fresh: the engine built these very layers already, and building them again in its context reuses those.
      const layer = Layer.fresh(
        Layer.mergeAll(Layer.fresh(JobRunner), Layer.fresh(JobsLive)).pipe(
          Layer.provide(Layer.mergeAll(Layer.succeed(JobHandlers, handlers), Layer.fresh(JobWake.layer)))
        )
      )
      const context = await server.run(Layer.buildWithScope(layer, scope))
      const jobs = Context.get(context, Jobs)
      return { jobs, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
    }
    const view = (jobs: Jobs["Service"], id: string) => server.run(jobs.get(id))
    const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000) => {
      const started = Date.now()
      while (!(await check())) {
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
        await sleep(20)
      }
    }

    beforeAll(async () => {
      server = await startServer({ ...(await backend.env()), TOKEN_SECRET: "j".repeat(40), JOB_POLL_MS: "50" })
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("runs a job once, with its progress and result; the same key enqueues nothing more", async () => {
      const runs: Array<unknown> = []
      const r = await runner([
        {
          kind: "test.echo",
          run: (job) =>
            Effect.gen(function* () {
              runs.push(job.payload)
              yield* job.progress(0.5)
              return { echoed: job.payload, attempt: job.attempt }
            })
        }
      ])
      try {
        const first = await server.run(r.jobs.enqueue("test.echo", { n: 1 }, { key: "echo-1" }))
        const again = await server.run(r.jobs.enqueue("test.echo", { n: 2 }, { key: "echo-1" }))
        expect(first.created).toBe(true)
        expect(again).toEqual({ id: first.id, created: false })
        await until("the job to succeed", async () => (await view(r.jobs, first.id))?.status === "succeeded")
        const done = (await view(r.jobs, first.id))!
        expect(done).toMatchObject({ progress: 1, attempts: 1, error: null, result: { echoed: { n: 1 }, attempt: 1 } })
        expect(done.finishedAt).not.toBeNull()
        expect(runs).toEqual([{ n: 1 }])
      } finally {
        await r.stop()
      }
    })

    it("retries a failed attempt with backoff, and fails a bad input at once with its reason", async () => {
      let attempts = 0
      const r = await runner([
        {
          kind: "test.flaky",
          run: () =>
            Effect.suspend(() =>
              ++attempts === 1
                ? Effect.fail(new JobFailed({ message: "upstream said 503", retry: true, retryInMs: 100 }))
                : Effect.succeed("ok")
            )
        },
        {
          kind: "test.bad",
          run: () => Effect.fail(new JobFailed({ message: "not a video: moov atom not found", retry: false }))
        }
      ])
      try {
        const flaky = await server.run(r.jobs.enqueue("test.flaky", {}))
        const bad = await server.run(r.jobs.enqueue("test.bad", {}))
        await until("the retry to succeed", async () => (await view(r.jobs, flaky.id))?.status === "succeeded")
        expect(await view(r.jobs, flaky.id)).toMatchObject({ attempts: 2, error: null, result: "ok" })
        await until("the bad job to fail", async () => (await view(r.jobs, bad.id))?.status === "failed")
        expect(await view(r.jobs, bad.id)).toMatchObject({ attempts: 1, error: "not a video: moov atom not found" })
      } finally {
        await r.stop()
      }
    })

    it("takes over a job whose engine died mid-way (embedded: on start; shared: when its lease runs out), once", async () => {
      const rows = await server.run(makeJobRows)
      const enqueued = await server.run(rows.enqueue("test.orphan", { n: 7 }))
      // Another engine claimed it with a short lease and then died: nothing renews or ends its claim.
      const [dead] = await server.run(rows.claim({ kinds: ["test.orphan"], limit: 1, leaseMs: 300 }))
      expect(dead?.id).toBe(enqueued.id)
      const runs: Array<number> = []
      const r = await runner([{ kind: "test.orphan", run: (job) => Effect.sync(() => runs.push(job.attempt)) }])
      try {
        await until("the takeover", async () => (await view(r.jobs, enqueued.id))?.status === "succeeded")
        expect(runs).toEqual([2])
        // The dead claim's late end is refused: the job stays as its new holder left it.
        expect(await server.run(rows.end(dead!, { state: "failed", error: "late" }))).toBe(false)
        expect((await view(r.jobs, enqueued.id))?.status).toBe("succeeded")
      } finally {
        await r.stop()
      }
    })

    it("hands a running job back on shutdown, its attempt not counted, and the next engine finishes it", async () => {
      const started = await Effect.runPromise(Deferred.make<void>())
      const first = await runner([
        {
          kind: "test.long",
          run: () => Effect.andThen(Deferred.succeed(started, undefined), Effect.never)
        }
      ])
      const job = await server.run(first.jobs.enqueue("test.long", {}))
      await Effect.runPromise(Deferred.await(started))
      expect((await view(first.jobs, job.id))?.status).toBe("running")
      await first.stop()
      expect(await view(first.jobs, job.id)).toMatchObject({ status: "queued", attempts: 0 })
      const second = await runner([{ kind: "test.long", run: () => Effect.succeed("finished") }])
      try {
        await until(
          "the second engine to finish it",
          async () => (await view(second.jobs, job.id))?.status === "succeeded"
        )
        expect(await view(second.jobs, job.id)).toMatchObject({ attempts: 1, result: "finished" })
      } finally {
        await second.stop()
      }
    })
  })
}
