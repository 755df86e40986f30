/**
 * Counters and histograms of the InferencePool, kept as plain numbers on the hot path and handed out as a
 * snapshot object (the HTTP layer renders it as Prometheus text).
 */

/** Cumulative buckets (Prometheus style: each count includes every smaller bucket), plus sum and count. */
export interface HistogramSnapshot {
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>
  readonly sum: number
  readonly count: number
}

export interface PoolMetricsSnapshot {
  readonly workers: number
  /** Frames waiting in the pool's queue (not yet in a worker task). */
  readonly queueDepth: number
  readonly inFlightTasks: number
  readonly inFlightFrames: number
  /** Sessions whose tracking state the pool holds. */
  readonly trackedSessions: number
  readonly frames: {
    readonly analyzed: number
    readonly rejected: number
    readonly saturated: number
    readonly crashed: number
    /** Frames of batches whose worker ran over the task timeout (and was replaced). */
    readonly timedOut: number
    readonly failed: number
    readonly cancelled: number
    /** Analysed frames on which the face detector ran. */
    readonly detected: number
  }
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
  readonly stageMs: {
    readonly decode: HistogramSnapshot
    readonly detect: HistogramSnapshot
    readonly mesh: HistogramSnapshot
    readonly emotion: HistogramSnapshot
    readonly total: HistogramSnapshot
  }
}

export class Histogram {
  private readonly counts: Array<number>
  private sum = 0
  private count = 0
  constructor(private readonly bounds: ReadonlyArray<number>) {
    this.counts = bounds.map(() => 0)
  }
  observe(value: number): void {
    this.sum += value
    this.count++
    const i = this.bounds.findIndex((b) => value <= b)
    if (i >= 0) this.counts[i]!++
  }
  snapshot(): HistogramSnapshot {
    let running = 0
    const buckets = this.bounds.map((le, i) => ({ le, count: (running += this.counts[i]!) }))
    return {
      buckets: [...buckets, { le: Number.POSITIVE_INFINITY, count: this.count }],
      sum: this.sum,
      count: this.count
    }
  }
}

const BATCH_BOUNDS = [1, 2, 4, 8, 16, 32, 64]
const LATENCY_BOUNDS = [5, 10, 20, 50, 100, 200, 500, 1000, 5000]
const STAGE_BOUNDS = [0.5, 1, 2, 5, 10, 20, 50, 100, 500]

/** Mutable accumulator behind the snapshot; single-threaded (lives on the pool's event loop). */
export class PoolMetrics {
  readonly frames = {
    analyzed: 0,
    rejected: 0,
    saturated: 0,
    crashed: 0,
    timedOut: 0,
    failed: 0,
    cancelled: 0,
    detected: 0
  }
  workerCrashes = 0
  workerTimeouts = 0
  /** Latest CPU seconds per worker thread id; replaced workers keep their entry, so the sum never goes back. */
  readonly workerCpu = new Map<number, number>()
  readonly batchSize = new Histogram(BATCH_BOUNDS)
  readonly latencyMs = new Histogram(LATENCY_BOUNDS)
  readonly stageMs = {
    decode: new Histogram(STAGE_BOUNDS),
    detect: new Histogram(STAGE_BOUNDS),
    mesh: new Histogram(STAGE_BOUNDS),
    emotion: new Histogram(STAGE_BOUNDS),
    total: new Histogram(STAGE_BOUNDS)
  }

  snapshot(gauges: {
    workers: number
    queueDepth: number
    inFlightTasks: number
    inFlightFrames: number
    trackedSessions: number
  }): PoolMetricsSnapshot {
    return {
      ...gauges,
      frames: { ...this.frames },
      workerCrashes: this.workerCrashes,
      workerTimeouts: this.workerTimeouts,
      workerCpuSeconds: this.workerCpu.size === 0 ? undefined : [...this.workerCpu.values()].reduce((a, b) => a + b, 0),
      batchSize: this.batchSize.snapshot(),
      latencyMs: this.latencyMs.snapshot(),
      stageMs: {
        decode: this.stageMs.decode.snapshot(),
        detect: this.stageMs.detect.snapshot(),
        mesh: this.stageMs.mesh.snapshot(),
        emotion: this.stageMs.emotion.snapshot(),
        total: this.stageMs.total.snapshot()
      }
    }
  }
}
