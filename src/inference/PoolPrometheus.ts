/** The InferencePool's metrics snapshot in Prometheus text format, for `/metrics`. */
import type { HistogramSnapshot, PoolMetricsSnapshot } from "./PoolMetrics.ts"

const histogram = (name: string, help: string, h: HistogramSnapshot, labels = "") => {
  const sep = labels === "" ? "" : ","
  return [
    ...h.buckets.map(
      (b) => `${name}_bucket{${labels}${sep}le="${b.le === Number.POSITIVE_INFINITY ? "+Inf" : b.le}"} ${b.count}`
    ),
    `${name}_sum${labels === "" ? "" : `{${labels}}`} ${h.sum}`,
    `${name}_count${labels === "" ? "" : `{${labels}}`} ${h.count}`
  ]
    .join("\n")
    .replace(/^/, `# HELP ${name} ${help}\n# TYPE ${name} histogram\n`)
}

export const poolPrometheusText = (m: PoolMetricsSnapshot): string => {
  const gauge = (name: string, help: string, value: number) =>
    `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${value}`
  const stages = (["decode", "detect", "mesh", "emotion", "total"] as const)
    .map((s) =>
      histogram("candor_pool_stage_ms", "Per-frame milliseconds by pipeline stage.", m.stageMs[s], `stage="${s}"`)
    )
    // One HELP/TYPE header per family.
    .map((text, i) => (i === 0 ? text : text.split("\n").slice(2).join("\n")))
  return [
    gauge("candor_pool_workers", "Inference worker threads.", m.workers),
    gauge("candor_pool_queue_depth", "Frames waiting for a worker.", m.queueDepth),
    gauge("candor_pool_in_flight_frames", "Frames inside worker tasks.", m.inFlightFrames),
    gauge("candor_pool_tracked_sessions", "Sessions with face-tracking state.", m.trackedSessions),
    "# HELP candor_pool_frames_total Frames by outcome.\n# TYPE candor_pool_frames_total counter",
    ...Object.entries(m.frames).map(([outcome, n]) => `candor_pool_frames_total{outcome="${outcome}"} ${n}`),
    `# HELP candor_pool_worker_crashes_total Workers that died and were replaced.\n# TYPE candor_pool_worker_crashes_total counter\ncandor_pool_worker_crashes_total ${m.workerCrashes}`,
    `# HELP candor_pool_worker_timeouts_total Workers stopped for running over the task timeout, and replaced.\n# TYPE candor_pool_worker_timeouts_total counter\ncandor_pool_worker_timeouts_total ${m.workerTimeouts}`,
    ...(m.workerCpuSeconds === undefined
      ? []
      : [
          `# HELP candor_pool_worker_cpu_seconds_total CPU time of the inference worker threads themselves (models, crops; not JPEG decoding).\n# TYPE candor_pool_worker_cpu_seconds_total counter\ncandor_pool_worker_cpu_seconds_total ${m.workerCpuSeconds}`
        ]),
    histogram("candor_pool_batch_size", "Frames per worker task.", m.batchSize),
    histogram("candor_pool_latency_ms", "Milliseconds from analyze() to its result.", m.latencyMs),
    ...stages
  ].join("\n")
}
