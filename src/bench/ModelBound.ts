/**
 * The model-only bound: how many frames per second the engine could analyse if it did nothing but run the three
 * models (no decoding, cropping, batching, sockets or scoring). Measured in the same run as the load, one worker
 * per core, every core on the same step at the same time (as the pool runs), with the pool's session settings —
 * the approach of bench/models.ts. Pipeline efficiency is end-to-end frames/s divided by this bound.
 *
 * Two measures per step: the median wall time of a call (what a quiet core gives), and the process's CPU time
 * per item (what the models cost, even when other work on the machine takes cores away).
 */
import type { Worker } from "node:worker_threads"
import { DEFAULT_MODELS_DIR } from "../inference/ModelBuilder.ts"
import { nextMessage, startWorker } from "./BenchWorkers.ts"

export type BoundModel = "detect" | "mesh" | "emotion"
export interface BoundStep {
  readonly _tag: "Step"
  readonly model: BoundModel
  readonly batch: number
}
export interface BoundStepResult {
  readonly msPerItem: number
  readonly items: number
}

/** Ms per frame of each model at one batch size. */
export interface ModelTiming {
  readonly batch: number
  readonly detectMs: number
  readonly meshMs: number
  readonly emotionMs: number
}

export interface ModelBoundResult {
  readonly cores: number
  /** Median wall ms per item, averaged over the workers, per batch size. */
  readonly timings: ReadonlyArray<ModelTiming>
  /** CPU ms per item (all workers' CPU over all their items), per batch size. */
  readonly cpuTimings: ReadonlyArray<ModelTiming>
  /** The cheapest batch size per model, wall clock. */
  readonly best: { readonly detectMs: number; readonly meshMs: number; readonly emotionMs: number }
  /** The cheapest batch size per model, CPU time. */
  readonly cpuBest: { readonly detectMs: number; readonly meshMs: number; readonly emotionMs: number }
  /** Frames/s on all cores with the detector on every frame (tracking off), wall clock. */
  readonly framesPerSecond: number
}

/** Model ms per frame when the detector runs on `detectorShare` of frames (1 = every frame), on one core. */
export const boundMsPerFrame = (result: ModelBoundResult, detectorShare: number, basis: "wall" | "cpu" = "wall") => {
  const b = basis === "wall" ? result.best : result.cpuBest
  return detectorShare * b.detectMs + b.meshMs + b.emotionMs
}

/** Frames/s of the bound on all its cores when the detector runs on `detectorShare` of frames. */
export const boundAt = (result: ModelBoundResult, detectorShare: number): number =>
  (result.cores * 1000) / boundMsPerFrame(result, detectorShare)

const MODELS: ReadonlyArray<BoundModel> = ["detect", "mesh", "emotion"]

export const measureModelBound = async (options: {
  cores: number
  budgetMs?: number
  batches?: ReadonlyArray<number>
  modelsDir?: string
}): Promise<ModelBoundResult> => {
  const batches = options.batches ?? [1, 4]
  const data = { modelsDir: options.modelsDir ?? DEFAULT_MODELS_DIR, budgetMs: options.budgetMs ?? 400 }
  const workers: Array<Worker> = Array.from({ length: options.cores }, () => startWorker("./modelBoundWorker.ts", data))
  try {
    await Promise.all(workers.map((w) => nextMessage(w)))
    const wall = new Map<string, number>()
    const cpu = new Map<string, number>()
    for (const batch of batches) {
      for (const model of MODELS) {
        const step: BoundStep = { _tag: "Step", model, batch }
        const before = process.cpuUsage()
        const replies = workers.map((w) => nextMessage<BoundStepResult>(w))
        for (const w of workers) w.postMessage(step)
        const results = await Promise.all(replies)
        const used = process.cpuUsage(before)
        const items = results.reduce((n, r) => n + r.items, 0)
        wall.set(`${model}/${batch}`, results.reduce((n, r) => n + r.msPerItem, 0) / results.length)
        cpu.set(`${model}/${batch}`, (used.user + used.system) / 1000 / items)
      }
    }
    const table = (m: Map<string, number>): Array<ModelTiming> =>
      batches.map((batch) => ({
        batch,
        detectMs: m.get(`detect/${batch}`)!,
        meshMs: m.get(`mesh/${batch}`)!,
        emotionMs: m.get(`emotion/${batch}`)!
      }))
    const bestOf = (rows: ReadonlyArray<ModelTiming>) => ({
      detectMs: Math.min(...rows.map((t) => t.detectMs)),
      meshMs: Math.min(...rows.map((t) => t.meshMs)),
      emotionMs: Math.min(...rows.map((t) => t.emotionMs))
    })
    const timings = table(wall)
    const cpuTimings = table(cpu)
    const partial = {
      cores: options.cores,
      timings,
      cpuTimings,
      best: bestOf(timings),
      cpuBest: bestOf(cpuTimings),
      framesPerSecond: 0
    }
    return { ...partial, framesPerSecond: boundAt(partial, 1) }
  } finally {
    await Promise.all(
      workers.map((w) =>
        Promise.race([
          (async () => {
            const released = nextMessage(w)
            w.postMessage({ _tag: "Release" })
            await released
          })(),
          new Promise((r) => setTimeout(r, 2000))
        ]).catch(() => undefined)
      )
    )
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
