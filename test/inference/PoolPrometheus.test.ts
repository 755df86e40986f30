import { describe, expect, it } from "@effect/vitest"
import { PoolMetrics } from "../../src/inference/PoolMetrics.ts"
import { makeMetrics } from "../../src/Metrics.ts"
import { readExposition } from "../metrics/Exposition.ts"

const stages = { decode: 1, detect: 4, mesh: 2, emotion: 0.2, total: 7.5 }

describe("pool metrics in Prometheus format", () => {
  it("renders every sample as a valid line, with one HELP and TYPE per family", () => {
    const metrics = makeMetrics()
    const gauges = { workers: 2, queueDepth: 1, inFlightFrames: 3, trackedSessions: 4 }
    const pool = new PoolMetrics(metrics, () => gauges)
    pool.batch(3)
    for (let i = 0; i < 7; i++) pool.analyzed(stages, 42, i < 2)
    pool.count("saturated")
    pool.workerCrashed()
    pool.workerCpu(3, 1.5)
    pool.workerCpu(4, 2.25)
    const text = metrics.render()
    const lines = text.trimEnd().split("\n")
    for (const line of lines.filter((l) => !l.startsWith("#"))) {
      expect(line).toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$/)
    }
    const types = lines.filter((l) => l.startsWith("# TYPE")).map((l) => l.split(" ")[2])
    expect(new Set(types).size).toBe(types.length)
    expect(readExposition(text).problems).toEqual([])
    expect(text).toContain('candor_pool_frames_total{outcome="analyzed"} 7')
    expect(text).toContain('candor_pool_frames_total{outcome="detected"} 2')
    expect(text).toContain('candor_pool_frames_total{outcome="saturated"} 1')
    expect(text).toContain('candor_pool_frames_total{outcome="crashed"} 0')
    expect(text).toContain("candor_pool_worker_crashes_total 1")
    expect(text).toContain('candor_pool_batch_size_bucket{le="2"} 0')
    expect(text).toContain('candor_pool_batch_size_bucket{le="4"} 1')
    expect(text).toContain('candor_pool_latency_ms_bucket{le="50"} 7')
    expect(text).toContain('candor_pool_stage_ms_count{stage="mesh"} 7')
    expect(text).toContain('candor_pool_stage_ms_sum{stage="total"} 52.5')
    expect(text).toContain("candor_pool_queue_depth 1")
    expect(text).toContain("candor_pool_tracked_sessions 4")
    expect(text).toContain("candor_pool_worker_cpu_seconds_total 3.75")
    // The gauges are read at each scrape.
    gauges.queueDepth = 9
    expect(metrics.render()).toContain("candor_pool_queue_depth 9")
  })

  it("hands out the same numbers as a snapshot", () => {
    const pool = new PoolMetrics(makeMetrics(), () => ({
      workers: 1,
      queueDepth: 2,
      inFlightFrames: 0,
      trackedSessions: 0
    }))
    pool.batch(5)
    pool.analyzed(stages, 120, true)
    const snapshot = pool.snapshot()
    expect(snapshot.queueDepth).toBe(2)
    expect(snapshot.frames).toMatchObject({ analyzed: 1, detected: 1, rejected: 0 })
    expect(snapshot.batchSize.buckets.map((b) => b.count)).toEqual([0, 0, 0, 1, 1, 1, 1, 1])
    expect(snapshot.batchSize.buckets.at(-1)!.le).toBe(Number.POSITIVE_INFINITY)
    expect(snapshot.latencyMs).toMatchObject({ sum: 120, count: 1 })
    expect(snapshot.stageMs.detect).toMatchObject({ sum: 4, count: 1 })
  })

  it("leaves the worker CPU series out where no worker reported its thread's CPU", () => {
    const metrics = makeMetrics()
    const pool = new PoolMetrics(metrics, () => ({ workers: 2, queueDepth: 0, inFlightFrames: 0, trackedSessions: 0 }))
    expect(pool.snapshot().workerCpuSeconds).toBeUndefined()
    expect(metrics.render()).not.toContain("worker_cpu")
  })

  it("keeps two pools' counters apart, and takes a closed pool's gauges off", () => {
    const a = makeMetrics()
    const b = makeMetrics()
    const gauges = () => ({ workers: 1, queueDepth: 0, inFlightFrames: 0, trackedSessions: 0 })
    const poolA = new PoolMetrics(a, gauges)
    const poolB = new PoolMetrics(b, gauges)
    poolA.count("rejected")
    poolA.count("rejected")
    poolB.count("rejected")
    expect(a.render()).toContain('candor_pool_frames_total{outcome="rejected"} 2')
    expect(b.render()).toContain('candor_pool_frames_total{outcome="rejected"} 1')
    expect(poolB.snapshot().frames.rejected).toBe(1)
    poolA.close()
    expect(a.render()).not.toContain("candor_pool_workers")
    expect(b.render()).toContain("candor_pool_workers 1")
  })
})
