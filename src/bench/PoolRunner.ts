/**
 * Our pipeline without the network: the engine's InferencePool, in this process, fed the same clips as the peer
 * by closed-loop streams (each keeps `window` frames in flight, like a client waiting for its analyses). Gives
 * the pipeline's frames/s for the peer ratios and for the pool-only efficiency.
 */
import { Effect, Fiber } from "effect"
import type { InferencePoolOptions } from "../inference/InferencePool.ts"
import * as InferencePool from "../inference/InferencePool.ts"
import type { HistogramSnapshot, PoolMetricsSnapshot } from "../inference/PoolMetrics.ts"
import { Sample, summarize } from "./LatencySummary.ts"
import type { ThroughputResult } from "./PeerRunner.ts"

export interface PoolRunOptions {
  readonly name: string
  readonly pool: Partial<InferencePoolOptions>
  readonly clips: ReadonlyArray<ReadonlyArray<Uint8Array>>
  /** Independent video streams (sessions); stream s plays clip s mod clips. */
  readonly streams: number
  /** Frames each stream keeps in flight. */
  readonly window: number
  readonly warmupMs: number
  readonly durationMs: number
}

export interface PoolRunResult extends ThroughputResult {
  /** Share of analysed frames on which the detector ran (1 without tracking). */
  readonly detectorShare: number
  readonly meanBatch: number
  /** Busy time of this process's main thread per frame (the pool's batcher, dispatch and result handling). */
  readonly mainThreadMsPerFrame: number
  /** Mean ms per frame of each stage inside the workers (model stages are shares of batched calls). */
  readonly stageMs: {
    readonly decode: number
    readonly detect: number
    readonly mesh: number
    readonly emotion: number
    readonly total: number
  }
}

const meanOf = (a: HistogramSnapshot, b: HistogramSnapshot) =>
  b.count > a.count ? (b.sum - a.sum) / (b.count - a.count) : 0

const delta = (a: PoolMetricsSnapshot, b: PoolMetricsSnapshot) => {
  const analyzed = b.frames.analyzed - a.frames.analyzed
  const stage = (k: keyof PoolMetricsSnapshot["stageMs"]) => meanOf(a.stageMs[k], b.stageMs[k])
  return {
    detectorShare: analyzed > 0 ? (b.frames.detected - a.frames.detected) / analyzed : 0,
    meanBatch: meanOf(a.batchSize, b.batchSize),
    stageMs: {
      decode: stage("decode"),
      detect: stage("detect"),
      mesh: stage("mesh"),
      emotion: stage("emotion"),
      total: stage("total")
    }
  }
}

export const runPool = (options: PoolRunOptions): Promise<PoolRunResult> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const pool = yield* InferencePool.make(options.pool)
        const latencies = new Sample()
        let measuring = false
        let stopped = false
        let frames = 0
        let faces = 0
        let failures = 0

        const stream = (s: number) => {
          const clip = options.clips[s % options.clips.length]!
          let next = 0
          const one = (): Effect.Effect<void> =>
            Effect.suspend(() => {
              if (stopped) return Effect.void
              const seq = next++
              const started = performance.now()
              return pool
                .analyze({
                  sessionKey: `bench-${s}`,
                  seq,
                  capturedAt: Date.now(),
                  image: clip[seq % clip.length]!,
                  affectEnabled: true
                })
                .pipe(
                  Effect.match({
                    onFailure: () => {
                      if (measuring) failures++
                    },
                    onSuccess: (analysis) => {
                      if (!measuring) return
                      frames++
                      faces += analysis.faces.length
                      latencies.push(performance.now() - started)
                    }
                  }),
                  Effect.flatMap(one)
                )
            })
          return Effect.all(
            Array.from({ length: options.window }, () => one()),
            { concurrency: "unbounded", discard: true }
          )
        }

        const fiber = yield* Effect.forkChild(
          Effect.all(
            Array.from({ length: options.streams }, (_, s) => stream(s)),
            { concurrency: "unbounded", discard: true }
          )
        )
        yield* Effect.sleep(options.warmupMs)
        const before = yield* pool.metrics
        measuring = true
        const cpu = process.cpuUsage()
        const loop = performance.eventLoopUtilization()
        const start = performance.now()
        yield* Effect.sleep(options.durationMs)
        measuring = false
        const seconds = (performance.now() - start) / 1000
        const used = process.cpuUsage(cpu)
        const mainBusyMs = performance.eventLoopUtilization(loop).active
        const after = yield* pool.metrics
        stopped = true
        yield* Fiber.await(fiber)
        const d = delta(before, after)
        return {
          name: options.name,
          framesPerSecond: frames / seconds,
          frames,
          seconds,
          latencyMs: summarize(latencies.values()),
          facesPerFrame: faces / Math.max(1, frames),
          cpuMsPerFrame: (used.user + used.system) / 1000 / Math.max(1, frames),
          coresUsed: (used.user + used.system) / 1e6 / seconds,
          detectorShare: d.detectorShare,
          meanBatch: d.meanBatch,
          mainThreadMsPerFrame: mainBusyMs / Math.max(1, frames),
          stageMs: d.stageMs,
          ...(failures > 0 ? { note: `${failures} frames failed` } : {})
        }
      })
    )
  )

/**
 * The pipeline in this process as the engine runs it (one worker per core), fed by 4 streams per core with 2
 * frames each in flight: enough to keep every worker busy. Tracking off runs every model on every frame.
 */
export const runPipelineInProcess = (options: {
  readonly name: string
  readonly clips: ReadonlyArray<ReadonlyArray<Uint8Array>>
  readonly cores: number
  readonly tracking: boolean
  readonly warmupMs: number
  readonly durationMs: number
}): Promise<PoolRunResult> =>
  runPool({
    name: options.name,
    pool: { workers: options.cores, ...(options.tracking ? {} : { detectEvery: 1, emotionEvery: 1 }) },
    clips: options.clips,
    streams: 4 * options.cores,
    window: 2,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs
  })
