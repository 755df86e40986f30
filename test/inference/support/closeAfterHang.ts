// Run as its own process by PoolFaults.test.ts: a worker hangs and is stopped by the task timeout (its ONNX sessions
// still open), another hangs while the pool closes; then the process exits normally.
// The timeout (1 s) is far above a frame's analysis (≈ 10–40 ms; a fresh worker's first run a few times that), so a
// loaded machine does not time out healthy frames; where a replacement worker takes longer than that to start (a
// loaded machine), the frame queued behind the hung one is analysed only if waiting for the replacement does not
// count against it.
import { Effect, Exit, Scope } from "effect"
import * as Pool from "../../../src/inference/InferencePool.ts"
import { singleFaceJpeg } from "../fixtures.ts"

const jpeg = new Uint8Array(await singleFaceJpeg())
const scope = Effect.runSync(Scope.make())
const pool = await Effect.runPromise(
  Scope.provide(
    // No wait for companions (the default waits 10 ms): the hung frame must leave alone, so that the frame sent
    // right after it is queued behind the hung task rather than batched into it.
    Pool.make({
      workers: 1,
      taskTimeoutMs: 1000,
      maxDelayMs: 0,
      faultsForTests: { crash: new Set(), hang: new Set(["hang"]) }
    }),
    scope
  )
)
const analyze = (seq: number, sessionKey: string) =>
  Effect.runPromiseExit(pool.analyze({ seq, sessionKey, capturedAt: Date.now(), image: jpeg, affectEnabled: true }))
const tag = (exit: Exit.Exit<unknown, { _tag: string }>) => {
  if (Exit.isSuccess(exit)) return "analysis"
  const error = Exit.findErrorOption(exit)
  return error._tag === "Some" ? error.value._tag : "defect"
}

const started = Date.now()
const first = await Promise.all([analyze(0, "hang"), analyze(1, "a")])
const firstMs = Date.now() - started
const after = await analyze(2, "a")
// Hangs while the pool closes: the close waits for the timeout to stop the worker, then frees the others.
const hanging = analyze(3, "hang")
await new Promise((resolve) => setTimeout(resolve, 200))
await Effect.runPromise(Scope.close(scope, Exit.void))
const closing = await hanging
console.error(`hang stopped and the queued frame analysed by the replacement after ${firstMs} ms`)
console.log(JSON.stringify({ first: first.map(tag), after: tag(after), closing: tag(closing) }))
