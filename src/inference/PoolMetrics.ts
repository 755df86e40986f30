/**
 * The InferencePool's metrics as Effect `Metric`s (`candor_pool_*`): counters and histograms updated on the pool's
 * event loop, and gauges of its queue read at each scrape. They live in the engine's `Metrics` registry, or in one
 * of the pool's own when it runs alone (the bench); `snapshot` hands them out as one object for the bench and tests.
 */
import { Metric } from "effect"
import { type MetricsShape, sampleAll } from "../Metrics.ts"

/** Cumulative buckets (Prometheus style: each count includes every smaller bucket), plus sum and count. */
export interface HistogramSnapshot {
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>
  readonly sum: number
  readonly count: number
}

/** The pool's gauges, read from the pool itself. */
export interface PoolGauges {
  readonly workers: number
  /** Frames waiting in the pool's queue (not yet in a worker task). */
  readonly queueDepth: number
  readonly inFlightFrames: number
  /** Sessions whose tracking state the pool holds. */
  readonly trackedSessions: number
}

const FRAME_OUTCOMES = [
  "analyzed",
  "rejected",
  "saturated",
  "crashed",
  "timedOut",
  "failed",
  "cancelled",
  "detected"
] as const
/**
 * What became of a frame; `timedOut`: its batch's worker ran over the task timeout (and was replaced); `detected`
 * counts the analysed frames on which the face detector ran.
 */
export type FrameOutcome = (typeof FRAME_OUTCOMES)[number]

const STAGES = ["decode", "detect", "mesh", "emotion", "total"] as const
export type Stage = (typeof STAGES)[number]

export interface PoolMetricsSnapshot extends PoolGauges {
  readonly frames: Readonly<Record<FrameOutcome, number>>
  /** Workers that died (with or without frames in hand); Piscina starts a replacement for each. */
  readonly workerCrashes: number
  /** Workers stopped because a task ran over the task timeout; Piscina starts a replacement for each. */
  readonly workerTimeouts: number
  /**
   * CPU seconds the worker threads themselves have used (models, crops, messaging), as of each one's latest task;
   * undefined where the platform does not report a thread's CPU. Native helper threads (JPEG decoding) are not in it.
   */
  readonly workerCpuSeconds: number | undefined
  /** Frames per worker task. */
  readonly batchSize: HistogramSnapshot
  /** From `analyze` being called to its result, per analysed frame. */
  readonly latencyMs: HistogramSnapshot
  /** Per analysed frame, as reported by the worker. */
  readonly stageMs: Readonly<Record<Stage, HistogramSnapshot>>
}

const BATCH_BOUNDS = [1, 2, 4, 8, 16, 32, 64]
const LATENCY_BOUNDS = [5, 10, 20, 50, 100, 200, 500, 1000, 5000]
const STAGE_BOUNDS = [0.5, 1, 2, 5, 10, 20, 50, 100, 500]

const workers = Metric.gauge("candor_pool_workers", { description: "Inference worker threads." })
const queueDepth = Metric.gauge("candor_pool_queue_depth", { description: "Frames waiting for a worker." })
const inFlightFrames = Metric.gauge("candor_pool_in_flight_frames", { description: "Frames inside worker tasks." })
const trackedSessions = Metric.gauge("candor_pool_tracked_sessions", {
  description: "Sessions with face-tracking state."
})
const frames = Object.fromEntries(
  FRAME_OUTCOMES.map((outcome) => [
    outcome,
    Metric.counter("candor_pool_frames_total", {
      description: "Frames by outcome.",
      attributes: { outcome },
      incremental: true
    })
  ])
) as Record<FrameOutcome, Metric.Counter<number>>
const workerCrashes = Metric.counter("candor_pool_worker_crashes_total", {
  description: "Workers that died and were replaced.",
  incremental: true
})
const workerTimeouts = Metric.counter("candor_pool_worker_timeouts_total", {
  description: "Workers stopped because a task ran over the task timeout, and replaced.",
  incremental: true
})
const workerCpu = Metric.counter("candor_pool_worker_cpu_seconds_total", {
  description: "CPU time of the inference worker threads themselves (models, crops; not JPEG decoding).",
  incremental: true
})
const batchSize = Metric.histogram("candor_pool_batch_size", {
  description: "Frames per worker task.",
  boundaries: BATCH_BOUNDS
})
const latencyMs = Metric.histogram("candor_pool_latency_ms", {
  description: "Milliseconds from analyze() to its result.",
  boundaries: LATENCY_BOUNDS
})
const stageMs = Object.fromEntries(
  STAGES.map((stage) => [
    stage,
    Metric.histogram("candor_pool_stage_ms", {
      description: "Per-frame milliseconds by pipeline stage.",
      attributes: { stage },
      boundaries: STAGE_BOUNDS
    })
  ])
) as Record<Stage, Metric.Histogram<number>>

const histogramSnapshot = (state: Metric.HistogramState): HistogramSnapshot => ({
  buckets: [
    ...state.buckets.map(([le, count]) => ({ le, count })),
    { le: Number.POSITIVE_INFINITY, count: state.count }
  ],
  sum: state.sum,
  count: state.count
})

/** The pool's side of its metrics; single-threaded (lives on the pool's event loop). */
export class PoolMetrics {
  /** Latest CPU seconds per worker thread id; replaced workers keep their entry, so the sum never goes back. */
  private readonly cpuByThread = new Map<number, number>()
  private removeCpu: (() => void) | undefined
  private readonly removeGauges: () => void

  constructor(
    private readonly metrics: MetricsShape,
    private readonly gauges: () => PoolGauges
  ) {
    this.removeGauges = sampleAll(metrics, [
      [workers, () => gauges().workers],
      [queueDepth, () => gauges().queueDepth],
      [inFlightFrames, () => gauges().inFlightFrames],
      [trackedSessions, () => gauges().trackedSessions]
    ])
    // Every series is on /metrics from the start, at zero.
    for (const metric of [
      ...Object.values(frames),
      workerCrashes,
      workerTimeouts,
      batchSize,
      latencyMs,
      ...Object.values(stageMs)
    ]) {
      metrics.value(metric as Metric.Metric<never, unknown>)
    }
  }

  count(outcome: FrameOutcome): void {
    this.metrics.update(frames[outcome], 1)
  }

  workerCrashed(): void {
    this.metrics.update(workerCrashes, 1)
  }

  workerTimedOut(): void {
    this.metrics.update(workerTimeouts, 1)
  }

  batch(size: number): void {
    this.metrics.update(batchSize, size)
  }

  /** One analysed frame: its per-stage times, its latency since `analyze`, and whether the detector ran on it. */
  analyzed(stages: Readonly<Record<Stage, number>>, latency: number, detectorRan: boolean): void {
    this.count("analyzed")
    if (detectorRan) this.count("detected")
    for (const stage of STAGES) this.metrics.update(stageMs[stage], stages[stage])
    this.metrics.update(latencyMs, latency)
  }

  /** A worker's CPU seconds as of its latest task; the series appears with the first report. */
  workerCpu(threadId: number, seconds: number): void {
    this.cpuByThread.set(threadId, seconds)
    this.removeCpu ??= this.metrics.sample(workerCpu, () => this.workerCpuSeconds() ?? 0)
  }

  private workerCpuSeconds(): number | undefined {
    return this.cpuByThread.size === 0 ? undefined : [...this.cpuByThread.values()].reduce((a, b) => a + b, 0)
  }

  snapshot(): PoolMetricsSnapshot {
    const value = this.metrics.value
    return {
      ...this.gauges(),
      frames: Object.fromEntries(FRAME_OUTCOMES.map((o) => [o, value(frames[o]).count])) as Record<
        FrameOutcome,
        number
      >,
      workerCrashes: value(workerCrashes).count,
      workerTimeouts: value(workerTimeouts).count,
      workerCpuSeconds: this.workerCpuSeconds(),
      batchSize: histogramSnapshot(value(batchSize)),
      latencyMs: histogramSnapshot(value(latencyMs)),
      stageMs: Object.fromEntries(STAGES.map((s) => [s, histogramSnapshot(value(stageMs[s]))])) as Record<
        Stage,
        HistogramSnapshot
      >
    }
  }

  /** Takes the scrape-time series off the registry (the pool is closing). */
  close(): void {
    this.removeGauges()
    this.removeCpu?.()
  }
}
