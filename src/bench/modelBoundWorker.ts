/**
 * Worker of ModelBound: runs the three production models (the pool's own session settings and calls) on one
 * core, one step (model × batch size) at a time when the main thread says so, so every core works on the same
 * step and the process's CPU time can be charged to it.
 */
import { parentPort, workerData } from "node:worker_threads"
import { Blazeface, EmotionNet, FaceMesh } from "../inference/ModelSpec.ts"
import { loadOnnxModels } from "../inference/OnnxModels.ts"
import { percentile } from "./LatencySummary.ts"
import type { BoundStep, BoundStepResult } from "./ModelBound.ts"

const { modelsDir, budgetMs } = workerData as { modelsDir: string; budgetMs: number }
const port = parentPort!

const input = (shape: ReadonlyArray<number>, n: number) =>
  Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.001))

// ONNX Runtime's batched calls themselves, as the table's batch rows say (the pool runs detector and mesh one by one).
const models = await loadOnnxModels(modelsDir, { oneByOne: false })
const shapes = { detect: Blazeface.inputShape, mesh: FaceMesh.inputShape, emotion: EmotionNet.inputShape }

/** Median ms per call over at least 5 calls and `budgetMs`, after 3 warm-up calls (all counted as items). */
const step = async ({ model, batch }: BoundStep): Promise<BoundStepResult> => {
  const data = input(shapes[model], batch)
  const run = () => models[model](data, batch)
  for (let i = 0; i < 3; i++) await run()
  const times: Array<number> = []
  const until = performance.now() + budgetMs
  while (performance.now() < until || times.length < 5) {
    const t = performance.now()
    await run()
    times.push(performance.now() - t)
  }
  return {
    msPerItem:
      percentile(
        times.sort((a, b) => a - b),
        0.5
      ) / batch,
    items: (times.length + 3) * batch
  }
}

port.on("message", (message: BoundStep | { readonly _tag: "Release" }) => {
  if (message._tag === "Release") {
    models.release().then(() => port.postMessage({ _tag: "Released" }))
    return
  }
  step(message).then((r) => port.postMessage(r))
})
port.postMessage({ _tag: "Ready" })
