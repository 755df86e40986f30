/**
 * One runner of the bench's placement phase (`candor bench --cluster`; a child process): the cluster layer Candor
 * ships, on the bench's database, with a probe entity that stands for an interview session. The owner
 * (`PLACEMENT_ROLE=owner`) holds every shard; the socket's node holds none and sends, as a relaying node does, one
 * message per frame to the owner, which answers down an `Attach` stream as the session's actor would. Each side
 * reports its own process CPU, so what a frame costs to cross the cluster can be read for any payload: a JPEG (the
 * models run on the owner, as Candor does) or an analysis (were they to run on the socket's node).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Deferred, Effect, Fiber, Layer, Queue, Redacted, Schema, Stream } from "effect"
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import * as Rpc from "effect/rpc/Rpc"
import * as ClusterLayer from "../cluster/ClusterLayer.ts"
import { postgresClient } from "../store/Database.ts"

const Attach = Rpc.make("Attach", { success: Schema.String, stream: true })
const Frame = Rpc.make("Frame", { payload: { image: Schema.Uint8Array, replyBytes: Schema.Number } })
const Probe = Entity.make("PlacementProbe", [Attach, Frame]).annotateRpcs(ClusterSchema.InterruptOnTermination, true)

export interface PlacementPhase {
  readonly upBytes: number
  readonly downBytes: number
  readonly messages: number
  readonly perSecond: number
  readonly entities: number
}

type Request = { readonly _tag: "cpu" } | ({ readonly _tag: "phase" } & PlacementPhase) | { readonly _tag: "stop" }

const role = process.env.PLACEMENT_ROLE === "owner" ? "owner" : "relay"
const port = Number(process.env.PLACEMENT_PORT)
const address = { host: "127.0.0.1", port }

const probeLayer = Probe.toLayer(
  Effect.gen(function* () {
    const queues = new Set<Queue.Queue<string>>()
    return Probe.of({
      Attach: () =>
        Stream.unwrap(
          Effect.gen(function* () {
            const queue = yield* Queue.unbounded<string>()
            queues.add(queue)
            return Stream.fromQueue(queue).pipe(Stream.ensuring(Effect.sync(() => queues.delete(queue))))
          })
        ),
      Frame: ({ payload }) =>
        Effect.sync(() => {
          if (payload.replyBytes === 0) return
          const reply = "x".repeat(payload.replyBytes)
          for (const q of queues) Queue.offerUnsafe(q, reply)
        })
    })
  }),
  { concurrency: "unbounded" }
)

const send = (message: unknown) => process.send?.(message)

const program = Effect.gen(function* () {
  const clientFor = yield* Probe.client
  const run = Effect.runForkWith(yield* Effect.context<never>())
  const requests = yield* Queue.unbounded<Request>()
  process.on("message", (m: Request) => Queue.offerUnsafe(requests, m))
  send({ _tag: "ready" })
  while (true) {
    const request = yield* Queue.take(requests)
    if (request._tag === "stop") return
    if (request._tag === "cpu") {
      const cpu = process.cpuUsage()
      send({ _tag: "cpu", ms: (cpu.user + cpu.system) / 1000 })
      continue
    }
    // A phase (relaying node only): each entity gets an attached stream, then frames go out paced.
    const image = new Uint8Array(request.upBytes).fill(7)
    let received = 0
    const done = yield* Deferred.make<void>()
    const expected = request.downBytes > 0 ? request.messages : 0
    const ids = Array.from({ length: request.entities }, (_, i) => `probe-${Date.now()}-${i}`)
    const streams = ids.map((id) =>
      run(
        clientFor(id)
          .Attach()
          .pipe(
            Stream.runForEach(() =>
              Effect.sync(() => {
                if (++received >= expected) Deferred.doneUnsafe(done, Effect.void)
              })
            ),
            Effect.ignore
          )
      )
    )
    yield* Effect.sleep("1 second")
    send({ _tag: "window" })
    const before = process.cpuUsage()
    const started = performance.now()
    for (let i = 0; i < request.messages; i++) {
      const due = started + (i * 1000) / request.perSecond
      const wait = due - performance.now()
      if (wait > 0) yield* Effect.sleep(wait)
      run(
        clientFor(ids[i % ids.length]!)
          .Frame({ image, replyBytes: request.downBytes }, { discard: true })
          .pipe(Effect.ignore)
      )
    }
    if (expected > 0) yield* Deferred.await(done).pipe(Effect.timeoutOption("10 seconds"))
    else yield* Effect.sleep("200 millis")
    const after = process.cpuUsage(before)
    yield* Fiber.interruptAll(streams)
    send({
      _tag: "phase",
      received,
      seconds: (performance.now() - started) / 1000,
      cpuMs: (after.user + after.system) / 1000
    })
  }
})

const cluster = {
  runnerAddress: address,
  listenAddress: address,
  shards: 300,
  failoverSeconds: 9
}

program.pipe(
  Effect.provide(
    probeLayer.pipe(
      Layer.provideMerge(ClusterLayer.layer(cluster, role === "owner" ? {} : { assignedShardGroups: [] })),
      Layer.provide(postgresClient(Redacted.make(process.env.PLACEMENT_DATABASE_URL!), 4))
    )
  ),
  NodeRuntime.runMain
)
