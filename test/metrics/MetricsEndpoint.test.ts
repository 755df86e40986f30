import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readGauges } from "../../src/bench/PrometheusText.ts"
import { InferencePool } from "../../src/inference/InferencePool.ts"
import { singleFaceJpeg } from "../inference/fixtures.ts"
import { startReportsServer } from "../support/ReportsServer.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"
import { type Family, readExposition } from "./Exposition.ts"

/** Every family the engine exports before any session, with its type: dashboards and the bench read these. */
const families: Record<string, string> = {
  process_resident_memory_bytes: "gauge",
  nodejs_heap_used_bytes: "gauge",
  process_cpu_seconds_total: "counter",
  nodejs_eventloop_delay_seconds: "histogram",
  http_requests_total: "counter",
  http_request_duration_seconds: "histogram",
  candor_write_behind_buffered_rows: "gauge",
  candor_write_behind_written_rows_total: "counter",
  candor_write_behind_shed_rows_total: "counter",
  candor_write_behind_rejected_rows_total: "counter",
  candor_write_behind_failed_flushes_total: "counter",
  candor_database_outage: "gauge",
  candor_answer_scoring_backlog: "gauge",
  candor_sessions_active: "gauge",
  candor_candidate_sockets: "gauge",
  candor_frames_received_total: "counter",
  candor_frames_shed_total: "counter",
  candor_frames_analyzed_total: "counter",
  candor_frame_errors_total: "counter",
  candor_frames_rate_limited_total: "counter",
  candor_session_commands_total: "counter",
  candor_session_restarts_total: "counter",
  candor_session_passivations_total: "counter",
  candor_protocol_errors_total: "counter",
  candor_pool_workers: "gauge",
  candor_pool_queue_depth: "gauge",
  candor_pool_in_flight_frames: "gauge",
  candor_pool_tracked_sessions: "gauge",
  candor_pool_frames_total: "counter",
  candor_pool_worker_crashes_total: "counter",
  candor_pool_worker_timeouts_total: "counter",
  candor_pool_batch_size: "histogram",
  candor_pool_latency_ms: "histogram",
  candor_pool_stage_ms: "histogram",
  // Where the platform reports a thread's CPU (Linux); the workers' after their first frame.
  ...(process.platform === "linux"
    ? { nodejs_main_thread_cpu_seconds_total: "counter", candor_pool_worker_cpu_seconds_total: "counter" }
    : {})
}

const sample = (family: Family | undefined, name: string, labels: Record<string, string>) =>
  family?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value

describe("/metrics", () => {
  let engine: TestServer
  // A second engine in the same process: without the inference pool or the live sessions.
  let other: TestServer
  const env = { PGLITE_DIR: ":memory:", CANDOR_DEMO: "false", TOKEN_SECRET: "m".repeat(40), INFERENCE_WORKERS: "1" }
  const scrape = async (server: TestServer) => {
    const res = await fetch(`${server.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4")
    return res.text()
  }

  beforeAll(async () => {
    engine = await startServer(env)
    other = await startReportsServer(env)
  })
  afterAll(async () => {
    await engine?.close()
    await other?.close()
  })

  it("parses as Prometheus text with every family, and counts a request and an analysed frame", async () => {
    const { apiKey } = await engine.seed()
    const created = await fetch(`${engine.url}/v1/interviews`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ candidate: { name: "Ada", email: "ada@example.com" }, questions: [{ prompt: "Why?" }] })
    })
    expect(created.status).toBe(201)
    const image = await singleFaceJpeg()
    await engine.run(
      Effect.flatMap(InferencePool, (pool) =>
        pool.analyze({ seq: 1, capturedAt: Date.now(), image, affectEnabled: true, sessionKey: "metrics-test" })
      )
    )
    // The event-loop timer fires every 20 ms.
    await new Promise((resolve) => setTimeout(resolve, 100))

    const text = await scrape(engine)
    const read = readExposition(text)
    expect(read.problems).toEqual([])
    const byName = new Map(read.families.map((f) => [f.name, f]))
    expect(Object.fromEntries(Object.keys(families).map((name) => [name, byName.get(name)?.type]))).toEqual(families)
    for (const f of read.families) expect(f.help, f.name).not.toBe("")

    const requests = byName.get("http_requests_total")
    expect(sample(requests, "http_requests_total", { route: "POST /v1/interviews", status: "201" })).toBe(1)
    const duration = byName.get("http_request_duration_seconds")
    const route = { route: "POST /v1/interviews" }
    expect(sample(duration, "http_request_duration_seconds_count", route)).toBe(1)
    expect(sample(duration, "http_request_duration_seconds_sum", route)).toBeGreaterThan(0)
    expect(sample(duration, "http_request_duration_seconds_bucket", { ...route, le: "+Inf" })).toBe(1)

    const pool = (name: string) => byName.get(name)
    expect(sample(pool("candor_pool_workers"), "candor_pool_workers", {})).toBe(1)
    expect(sample(pool("candor_pool_queue_depth"), "candor_pool_queue_depth", {})).toBe(0)
    expect(sample(pool("candor_pool_tracked_sessions"), "candor_pool_tracked_sessions", {})).toBe(1)
    const frames = pool("candor_pool_frames_total")
    expect(frames?.samples.map((s) => s.labels["outcome"]).sort()).toEqual(
      ["analyzed", "cancelled", "crashed", "detected", "failed", "rejected", "saturated", "timedOut"].sort()
    )
    expect(sample(frames, "candor_pool_frames_total", { outcome: "analyzed" })).toBe(1)
    const stages = pool("candor_pool_stage_ms")
    for (const stage of ["decode", "detect", "mesh", "emotion", "total"]) {
      expect(sample(stages, "candor_pool_stage_ms_count", { stage }), stage).toBe(1)
    }

    // What the bench reads from the same text.
    const gauges = readGauges(text, 0)
    expect(gauges.framesAnalyzed).toBe(1)
    expect(gauges.framesDetected).toBe(1)
    expect(gauges.queueDepth).toBe(0)
    expect(gauges.batchCount).toBe(1)
    expect(gauges.stages.total?.count).toBe(1)
    expect(gauges.cpuSeconds).toBeGreaterThan(0)
    expect(gauges.rssBytes).toBeGreaterThan(0)
    expect(gauges.loopDelay?.at(-1)?.le).toBe(Number.POSITIVE_INFINITY)
    if (process.platform === "linux") {
      expect(gauges.mainCpuSeconds).toBeGreaterThan(0)
      expect(gauges.workerCpuSeconds).toBeGreaterThan(0)
      // The embedded database runs in a thread of its own, reported apart from the main thread.
      expect(gauges.databaseCpuSeconds).toBeGreaterThan(0)
    }
  })

  it("keeps each engine's series to itself", async () => {
    await fetch(`${other.url}/healthz`)
    const text = await scrape(other)
    expect(readExposition(text).problems).toEqual([])
    expect(text).toMatch(/^http_requests_total\{route="GET \/healthz",status="200"\} 1$/m)
    // The first engine's request and pool are not here.
    expect(text).not.toContain('route="POST /v1/interviews"')
    expect(text).toMatch(/^candor_pool_frames_total\{outcome="analyzed"\} 0$/m)
    expect(await scrape(engine)).not.toContain('route="GET /healthz"')
  })
})
