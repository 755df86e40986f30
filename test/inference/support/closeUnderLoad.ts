// Run as its own process by PoolShutdown.test.ts: closes the pool while frames are in flight, then exits normally.
import { Effect, Exit, Scope } from "effect"
import * as Fs from "node:fs"
import * as Pool from "../../../src/inference/InferencePool.ts"

const jpeg = new Uint8Array(
  Fs.readFileSync(new URL("../../../node_modules/@vladmandic/face-api/demo/sample1.jpg", import.meta.url))
)
const scope = Effect.runSync(Scope.make())
const pool = await Effect.runPromise(Scope.provide(Pool.make({ workers: 2 }), scope))
const outcomes = Array.from({ length: 120 }, (_, seq) =>
  Effect.runPromiseExit(pool.analyze({ seq, capturedAt: Date.now(), image: jpeg, affectEnabled: true }))
)
await new Promise((resolve) => setTimeout(resolve, 400))
await Effect.runPromise(Scope.close(scope, Exit.void))
const settled = await Promise.all(outcomes)
console.log(
  JSON.stringify({ ok: settled.filter(Exit.isSuccess).length, failed: settled.filter(Exit.isFailure).length })
)
