import { describe, expect, it } from "@effect/vitest"
import { PoolMetrics } from "../../src/inference/PoolMetrics.ts"
import { poolPrometheusText } from "../../src/inference/PoolPrometheus.ts"

describe("pool metrics in Prometheus format", () => {
  it("renders every sample as a valid line, with one HELP and TYPE per family", () => {
    const metrics = new PoolMetrics()
    metrics.batchSize.observe(3)
    metrics.latencyMs.observe(42)
    metrics.frames.analyzed = 7
    metrics.workerCpu.set(3, 1.5)
    metrics.workerCpu.set(4, 2.25)
    const text = poolPrometheusText(
      metrics.snapshot({ workers: 2, queueDepth: 1, inFlightTasks: 1, inFlightFrames: 3, trackedSessions: 4 })
    )
    const lines = text.split("\n")
    for (const line of lines.filter((l) => !l.startsWith("#"))) {
      expect(line).toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$/)
    }
    const types = lines.filter((l) => l.startsWith("# TYPE")).map((l) => l.split(" ")[2])
    expect(new Set(types).size).toBe(types.length)
    expect(text).toContain('candor_pool_frames_total{outcome="analyzed"} 7')
    expect(text).toContain('candor_pool_batch_size_bucket{le="4"} 1')
    expect(text).toContain('candor_pool_stage_ms_count{stage="mesh"} 0')
    expect(text).toContain("candor_pool_queue_depth 1")
    expect(text).toContain("candor_pool_worker_cpu_seconds_total 3.75")
  })

  it("leaves the worker CPU series out where no worker reported its thread's CPU", () => {
    const snapshot = new PoolMetrics().snapshot({
      workers: 2,
      queueDepth: 0,
      inFlightTasks: 0,
      inFlightFrames: 0,
      trackedSessions: 0
    })
    expect(snapshot.workerCpuSeconds).toBeUndefined()
    expect(poolPrometheusText(snapshot)).not.toContain("worker_cpu")
  })
})
