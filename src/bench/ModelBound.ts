/**
 * The model-only bound: how many frames per second the engine could analyse if it did nothing but run the three
 * models (no decoding, cropping, batching, sockets or scoring). Measured in the same run as the load, one worker
 * per core running at the same time (as the pool does), with the pool's session settings — the approach of
 * bench/models.ts. Pipeline efficiency is end-to-end frames/s divided by this bound.
 */
import { DEFAULT_MODELS_DIR } from "../inference/ModelBuilder.ts"
import { nextMessage, startWorker } from "./BenchWorkers.ts"

/** Median ms per frame of each model at one batch size, on one core. */
export interface ModelTiming {
  readonly batch: number
  readonly detectMs: number
  readonly meshMs: number
  readonly emotionMs: number
}

export interface ModelBoundResult {
  readonly cores: number
  /** Per worker (one per core), per batch size. */
  readonly workers: ReadonlyArray<ReadonlyArray<ModelTiming>>
  /** The cheapest batch size per model, averaged over workers. */
  readonly best: { readonly detectMs: number; readonly meshMs: number; readonly emotionMs: number }
  /** Frames/s with the detector on every frame (tracking off). */
  readonly framesPerSecond: number
}

/** Model ms per frame when the detector runs on `detectorShare` of frames (1 = every frame), on one core. */
export const boundMsPerFrame = (result: ModelBoundResult, detectorShare: number): number =>
  detectorShare * result.best.detectMs + result.best.meshMs + result.best.emotionMs

/** Frames/s of the bound on all its cores when the detector runs on `detectorShare` of frames. */
export const boundAt = (result: ModelBoundResult, detectorShare: number): number =>
  (result.cores * 1000) / boundMsPerFrame(result, detectorShare)

export const measureModelBound = async (
  options: { cores: number; budgetMs?: number; batches?: ReadonlyArray<number>; modelsDir?: string } = { cores: 1 }
): Promise<ModelBoundResult> => {
  const data = {
    modelsDir: options.modelsDir ?? DEFAULT_MODELS_DIR,
    budgetMs: options.budgetMs ?? 400,
    batches: options.batches ?? [1, 8]
  }
  const workers = Array.from({ length: options.cores }, () => startWorker("./modelBoundWorker.ts", data))
  try {
    const timings = await Promise.all(workers.map((w) => nextMessage<Array<ModelTiming>>(w)))
    const bestOf = (pick: (t: ModelTiming) => number) =>
      timings.reduce((sum, perWorker) => sum + Math.min(...perWorker.map(pick)), 0) / timings.length
    const best = {
      detectMs: bestOf((t) => t.detectMs),
      meshMs: bestOf((t) => t.meshMs),
      emotionMs: bestOf((t) => t.emotionMs)
    }
    const partial = { cores: options.cores, workers: timings, best, framesPerSecond: 0 }
    return { ...partial, framesPerSecond: boundAt(partial, 1) }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
