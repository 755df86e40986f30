import { describe, expect, it } from "@effect/vitest"
import { between, parsePrometheus, readGauges } from "../../src/bench/PrometheusText.ts"

const scrape = (cpu: number, batchSum: number, batchCount: number, analysed: number, detected: number) => `
# HELP process_cpu_seconds_total CPU
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total ${cpu}
process_resident_memory_bytes 104857600
candor_inference_queue_depth 3
candor_inference_batch_size_bucket{le="1"} 1
candor_inference_batch_size_bucket{le="+Inf"} ${batchCount}
candor_inference_batch_size_sum ${batchSum}
candor_inference_batch_size_count ${batchCount}
candor_inference_frames_analyzed_total{tenant="a"} ${analysed / 2}
candor_inference_frames_analyzed_total{tenant="b"} ${analysed / 2}
candor_inference_frames_detected_total ${detected}
`

describe("PrometheusText", () => {
  it("parses samples with labels, escapes and special values", () => {
    const s = parsePrometheus('a_total{x="1",y="q\\"uote"} 5\nb +Inf\n# comment\nc 2.5 1700000000\n')
    expect(s).toEqual([
      { name: "a_total", labels: { x: "1", y: 'q"uote' }, value: 5 },
      { name: "b", labels: {}, value: Number.POSITIVE_INFINITY },
      { name: "c", labels: {}, value: 2.5 }
    ])
  })

  it("reads the gauges the bench charts, summing label sets", () => {
    const g = readGauges(scrape(1, 10, 5, 100, 10), 0)
    expect(g).toMatchObject({ cpuSeconds: 1, rssBytes: 104857600, queueDepth: 3, batchSum: 10, batchCount: 5 })
    expect(g.framesAnalyzed).toBe(100)
    expect(g.framesShed).toBeUndefined()
  })

  it("derives cores, mean batch and detector share between two scrapes", () => {
    const a = readGauges(scrape(1, 10, 5, 100, 10), 0)
    const b = readGauges(scrape(4, 40, 15, 300, 30), 2000)
    expect(between(a, b)).toEqual({ cpuCores: 1.5, meanBatch: 3, detectorShare: 0.1, stageMs: {} })
  })

  it("prefers the pool's own frame counters and reads its stage histograms", () => {
    const text = (analyzed: number, detected: number, decodeSum: number, count: number) => `
candor_frames_analyzed_total 999
candor_pool_frames_total{outcome="analyzed"} ${analyzed}
candor_pool_frames_total{outcome="detected"} ${detected}
candor_pool_stage_ms_sum{stage="decode"} ${decodeSum}
candor_pool_stage_ms_count{stage="decode"} ${count}
`
    const a = readGauges(text(100, 20, 200, 100), 0)
    const b = readGauges(text(200, 30, 450, 200), 1000)
    expect(a.framesAnalyzed).toBe(100)
    expect(between(a, b)).toMatchObject({ detectorShare: 0.1, stageMs: { decode: 2.5 } })
  })

  it("reads the engine's event-loop delay between two scrapes: p99, worst and stalls over 50 ms", () => {
    // Cumulative buckets (seconds) as the engine's registry renders them.
    const text = (counts: ReadonlyArray<number>) =>
      ["0.005", "0.01", "0.05", "0.1", "+Inf"]
        .map((le, i) => `nodejs_eventloop_delay_seconds_bucket{le="${le}"} ${counts[i]}`)
        .join("\n")
    const a = readGauges(text([100, 100, 100, 100, 100]), 0)
    // 200 more ticks: 190 up to 5 ms late, 7 up to 10 ms, 1 up to 50 ms, 2 up to 100 ms.
    const b = readGauges(text([290, 297, 298, 300, 300]), 1000)
    expect(between(a, b)).toMatchObject({ loopP99Ms: 50, loopMaxMs: 100, loopStalls: 2 })
    // Then 200 more, every one up to 5 ms late.
    const c = readGauges(text([490, 497, 498, 500, 500]), 2000)
    expect(between(b, c)).toMatchObject({ loopP99Ms: 5, loopMaxMs: 5, loopStalls: 0 })
    expect(between(readGauges(scrape(1, 1, 1, 1, 1), 0), b).loopP99Ms).toBeUndefined()
  })

  it("splits the engine's CPU into its main thread and its inference workers", () => {
    const text = (total: number, main: number, workers: number) =>
      `process_cpu_seconds_total ${total}\nnodejs_main_thread_cpu_seconds_total ${main}\ncandor_pool_worker_cpu_seconds_total ${workers}\n`
    const d = between(readGauges(text(10, 2, 5), 0), readGauges(text(13, 2.5, 6.5), 2000))
    expect(d).toMatchObject({ cpuCores: 1.5, mainCores: 0.25, workerCores: 0.75 })
    expect(
      between(readGauges(scrape(1, 1, 1, 1, 1), 0), readGauges(scrape(2, 1, 1, 1, 1), 1000)).mainCores
    ).toBeUndefined()
  })

  it("reads the embedded database's thread apart, when the engine has one", () => {
    const text = (total: number, database: number) =>
      `process_cpu_seconds_total ${total}\ncandor_embedded_database_cpu_seconds_total ${database}\n`
    expect(between(readGauges(text(10, 1), 0), readGauges(text(12, 1.2), 2000)).databaseCores).toBeCloseTo(0.1, 10)
    expect(between(readGauges(scrape(1, 1, 1, 1, 1), 0), readGauges(scrape(2, 1, 1, 1, 1), 1000))).not.toHaveProperty(
      "databaseCores"
    )
  })
})
