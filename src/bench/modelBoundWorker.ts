/**
 * Worker of ModelBound: times the three production models (the pool's own session settings and calls) on one
 * core, per frame, at each batch size, then posts the medians and exits.
 */
import { parentPort, workerData } from "node:worker_threads"
import { loadOnnxModels } from "../inference/OnnxModels.ts"
import { Blazeface, EmotionNet, FaceMesh } from "../inference/ModelSpec.ts"
import { percentile } from "./LatencySummary.ts"
import type { ModelTiming } from "./ModelBound.ts"

const { modelsDir, budgetMs, batches } = workerData as {
  modelsDir: string
  budgetMs: number
  batches: ReadonlyArray<number>
}

const input = (shape: ReadonlyArray<number>, n: number) =>
  Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.001))

/** Median ms per call of `run`, over at least 5 calls and `budgetMs` of calls after 3 warm-up calls. */
const time = async (run: () => Promise<unknown>): Promise<number> => {
  for (let i = 0; i < 3; i++) await run()
  const times: Array<number> = []
  const until = performance.now() + budgetMs
  while (performance.now() < until || times.length < 5) {
    const t = performance.now()
    await run()
    times.push(performance.now() - t)
  }
  return percentile(
    times.sort((a, b) => a - b),
    0.5
  )
}

const models = await loadOnnxModels(modelsDir)
const timings: Array<ModelTiming> = []
for (const batch of batches) {
  const det = input(Blazeface.inputShape, batch)
  const mesh = input(FaceMesh.inputShape, batch)
  const emo = input(EmotionNet.inputShape, batch)
  timings.push({
    batch,
    detectMs: (await time(() => models.detect(det, batch))) / batch,
    meshMs: (await time(() => models.mesh(mesh, batch))) / batch,
    emotionMs: (await time(() => models.emotion(emo, batch))) / batch
  })
}
await models.release()
parentPort!.postMessage(timings)
