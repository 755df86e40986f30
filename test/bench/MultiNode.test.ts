import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import sharp from "sharp"
import { type BenchOptions, parseUrlList } from "../../src/bench/BenchOptions.ts"
import { nodeWindow } from "../../src/bench/EngineMonitor.ts"
import { LoadGenerator, placeOnNodes } from "../../src/bench/LoadGenerator.ts"
import type { CandidateSpec } from "../../src/bench/LoadProtocol.ts"
import { between, readGauges, sumGauges } from "../../src/bench/PrometheusText.ts"
import { backendCpuBetween } from "../../src/bench/ThrowawayDatabase.ts"
import { benchOptionsOf } from "../support/Cli.ts"
import { type FakeEngine, startFakeEngine } from "./FakeEngine.ts"

const parse = (args: Array<string>) => benchOptionsOf([...args, "--api-key", "k"], {}, false)

describe("--url with several nodes", () => {
  it("takes one URL as before, or a comma-separated list in order, trailing slashes dropped", async () => {
    expect(parseUrlList("http://h:1/")).toEqual(["http://h:1"])
    expect(parseUrlList("http://a:1, http://b:2/ ,https://c/x//")).toEqual(["http://a:1", "http://b:2", "https://c/x"])
    const o = (await parse(["--url", "http://a:1,http://b:2,http://c:3"])) as BenchOptions
    expect(o).toMatchObject({ url: "http://a:1", urls: ["http://a:1", "http://b:2", "http://c:3"] })
    const one = (await parse(["--url", "http://a:1/"])) as BenchOptions
    expect(one).toMatchObject({ url: "http://a:1", urls: ["http://a:1"] })
    const started = (await benchOptionsOf([])) as BenchOptions
    expect(started).toMatchObject({ url: undefined, urls: [] })
  })

  it("refuses a bad entry, naming it and where it is", async () => {
    expect(parseUrlList("http://a:1,,http://b:2")).toMatch(/empty entry \(entry 2 of 3\)/)
    expect(parseUrlList("http://a:1,")).toMatch(/empty entry \(entry 2 of 2\)/)
    expect(parseUrlList("ftp://a")).toBe('--url expects http:// or https:// URLs; "ftp://a" is not one')
    expect(parseUrlList("http://a:1,localhost:8080")).toBe(
      '--url expects http:// or https:// URLs; "localhost:8080" (entry 2 of 2) is not one'
    )
    expect(parseUrlList("http://a:99999")).toMatch(/"http:\/\/a:99999" is not one/)
    expect(parseUrlList("http://a:1/?x=1")).toMatch(/query or fragment/)
    expect(parseUrlList("http://a:1,http://a:1/")).toBe("--url names http://a:1 twice: each node once")
    // The command line says the same, as a usage error.
    expect(await parse(["--url", "http://a:1,ws://b:2"])).toMatch(/"ws:\/\/b:2" \(entry 2 of 2\) is not one/)
    expect(await benchOptionsOf(["--url", "http://a:1,http://b:2"])).toMatch(/--api-key/)
  })

  it("checks what --cluster needs and what it cannot be combined with", async () => {
    const stores = ["--database-url", "postgres://p@h/db", "--redis-url", "redis://h:6379"]
    expect(await benchOptionsOf(["--cluster", "3", ...stores])).toMatchObject({
      cluster: 3,
      redisUrl: "redis://h:6379"
    })
    expect(await benchOptionsOf(["--cluster", "3"])).toMatch(/--cluster needs --database-url and --redis-url/)
    expect(await benchOptionsOf(["--cluster", "1", ...stores])).toMatch(/node count of 2 or more/)
    expect(await benchOptionsOf(["--cluster", "3", "--find-max", ...stores])).toMatch(
      /cannot be combined with --find-max/
    )
    expect(await benchOptionsOf(["--cluster", "3", "--smoke", ...stores])).toMatch(/cannot be combined with --smoke/)
    expect(await benchOptionsOf(["--redis-url", "http://h"])).toMatch(/--redis-url expects redis:\/\//)
    expect(await benchOptionsOf(["--cluster", "3", "--rounds", "2", ...stores])).toMatchObject({ rounds: 2 })
    expect(await benchOptionsOf(["--cluster", "3", "--rounds", "0", ...stores])).toMatch(/--rounds expects a positive/)
    expect(await benchOptionsOf(["--rounds", "2"])).toMatch(/--rounds is for --cluster/)
  })
})

/** A node's /metrics as the engine renders what the bench reads. */
const node = (o: {
  cpu: number
  analysed: number
  received: number
  sockets: number
  workers?: number
  loop: ReadonlyArray<number>
}) =>
  [
    `process_cpu_seconds_total ${o.cpu}`,
    "process_resident_memory_bytes 104857600",
    "candor_pool_queue_depth 1",
    ...(o.workers === undefined ? [] : [`candor_pool_worker_cpu_seconds_total ${o.workers}`]),
    `candor_frames_received_total ${o.received}`,
    `candor_frames_analyzed_total ${o.analysed}`,
    `candor_candidate_sockets ${o.sockets}`,
    `candor_pool_stage_ms_sum{stage="decode"} ${o.analysed * 3}`,
    `candor_pool_stage_ms_count{stage="decode"} ${o.analysed}`,
    ...["0.01", "0.05", "+Inf"].map((le, i) => `nodejs_eventloop_delay_seconds_bucket{le="${le}"} ${o.loop[i]}`)
  ].join("\n")

describe("Postgres backends' CPU", () => {
  it("counts a backend that started between two readings from 0 and leaves out one that ended", () => {
    const before = new Map([
      [1, 5],
      [2, 1]
    ])
    const after = new Map([
      [1, 6.5],
      [3, 0.25]
    ])
    expect(backendCpuBetween(before, after)).toBe(1.75)
    expect(backendCpuBetween(undefined, after)).toBeUndefined()
  })
})

describe("summing the nodes' /metrics", () => {
  // Three nodes scraped at t = 0 and t = 2 s: node a owns every session, b holds every socket, c is idle.
  const at0 = [
    readGauges(node({ cpu: 10, analysed: 100, received: 100, sockets: 0, workers: 4, loop: [10, 10, 10] }), 0),
    readGauges(node({ cpu: 5, analysed: 0, received: 0, sockets: 6, loop: [10, 10, 10] }), 10),
    readGauges(node({ cpu: 1, analysed: 0, received: 0, sockets: 0, loop: [10, 10, 10] }), 20)
  ]
  const at2 = [
    readGauges(node({ cpu: 12, analysed: 220, received: 230, sockets: 0, workers: 5, loop: [20, 20, 20] }), 2000),
    readGauges(node({ cpu: 5.5, analysed: 0, received: 0, sockets: 6, loop: [19, 20, 20] }), 2010),
    readGauges(node({ cpu: 1.1, analysed: 0, received: 0, sockets: 0, loop: [18, 19, 20] }), 2020)
  ]

  it("adds counters, gauges and histograms up, so CPU per analysed frame covers the whole cluster", () => {
    const a = sumGauges(at0)
    const b = sumGauges(at2)
    expect(a).toMatchObject({
      at: 10,
      cpuSeconds: 16,
      rssBytes: 3 * 104857600,
      queueDepth: 3,
      sessionFramesAnalyzed: 100,
      sessionFramesIn: 100,
      candidateSockets: 6,
      stages: { decode: { sum: 300, count: 100 } }
    })
    // A counter one node has not exported yet counts as 0 there; one no node exports stays undefined.
    expect(a.workerCpuSeconds).toBe(4)
    expect(a.mainCpuSeconds).toBeUndefined()
    expect(a.loopDelay).toEqual([
      { le: 0.01, count: 30 },
      { le: 0.05, count: 30 },
      { le: Number.POSITIVE_INFINITY, count: 30 }
    ])
    // 2.6 CPU seconds over 2 s on three nodes: 1.3 cores for 120 frames.
    const d = between(a, b)
    expect(d.cpuCores).toBeCloseTo(1.3, 10)
    expect(d.stageMs.decode).toBe(3)
    expect(d.loopP99Ms).toBe(Number.POSITIVE_INFINITY)
    expect(sumGauges([at0[0]!])).toBe(at0[0])
    expect(() => sumGauges([])).toThrow()
  })

  it("keeps each node's own figures: its CPU, the frames its sessions analysed, its sockets", () => {
    const owner = nodeWindow("http://a", [at0[0]!, at2[0]!], 0, 2000)
    expect(owner).toMatchObject({ url: "http://a", analysedPerSecond: 60, receivedPerSecond: 65, sockets: 0 })
    expect(owner.cpuCores).toBeCloseTo(1, 10)
    expect(owner.workerCores).toBeCloseTo(0.5, 10)
    const relay = nodeWindow("http://b", [at0[1]!, at2[1]!], 0, 2000)
    expect(relay).toMatchObject({ analysedPerSecond: 0, sockets: 6, workerCores: undefined })
    expect(relay.cpuCores).toBeCloseTo(0.25, 10)
    // Scrapes far outside the window are not used.
    expect(nodeWindow("http://c", [at0[2]!, at2[2]!], 10_000, 20_000).cpuCores).toBeUndefined()
  })
})

const spec = (id: string, url?: string): CandidateSpec => ({
  interviewId: id,
  token: `t-${id}`,
  questions: 3,
  answerAfterMs: 100,
  ...(url === undefined ? {} : { url })
})

describe("candidates over several nodes", () => {
  it("places them round-robin in the order added, keeps a candidate's own node, and leaves one node alone", () => {
    const nodes = ["http://a:1", "https://b:2", "http://c:3"]
    const placed = placeOnNodes([spec("1"), spec("2"), spec("3", "http://x:9"), spec("4"), spec("5")], nodes)
    expect(placed.map((s) => s.url)).toEqual(["ws://a:1", "wss://b:2", "ws://x:9", "ws://c:3", "ws://a:1"])
    expect(placeOnNodes([spec("6")], nodes, 4).map((s) => s.url)).toEqual(["wss://b:2"])
    expect(placeOnNodes([spec("7")], ["http://a:1"])[0]).toEqual(spec("7"))
  })

  const fakes: Array<FakeEngine> = []
  let clip: Array<Uint8Array>
  beforeAll(async () => {
    clip = [
      await sharp({ create: { width: 32, height: 24, channels: 3, background: "#777" } })
        .jpeg()
        .toBuffer()
    ]
  })
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()))
  })

  it("streams to every node: interviews created on the first, sockets spread over all", async () => {
    const interviews = new Map<string, string>()
    for (let i = 0; i < 2; i++)
      fakes.push(await startFakeEngine({ analysisDelayMs: 5, shedEvery: 0, ignoreEvery: 0, maxFps: 30, interviews }))
    const [a, b] = fakes as [FakeEngine, FakeEngine]
    const specs = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const r = await fetch(`${a.url}/v1/interviews`, {
          method: "POST",
          headers: { authorization: `Bearer ${a.apiKey}` },
          body: JSON.stringify({ candidate: { name: "x" }, questions: [{}, {}, {}] })
        })
        const body = (await r.json()) as { id: string; candidateToken: string }
        return { ...spec(body.id), token: body.candidateToken }
      })
    )
    const generator = LoadGenerator.start({
      url: a.url,
      urls: [a.url, b.url],
      clips: [clip],
      threads: 2,
      lossTimeoutMs: 1000
    })
    expect(await generator.add(specs, { _tag: "Paced", fps: 20 })).toEqual({ opened: 4, refused: 0 })
    await new Promise((r) => setTimeout(r, 800))
    await generator.stop()
    const s = generator.windowStats(0, Number.POSITIVE_INFINITY)
    expect(a.framesReceived()).toBeGreaterThan(5)
    expect(b.framesReceived()).toBeGreaterThan(5)
    expect(a.framesReceived() + b.framesReceived()).toBe(s.sent)
    expect(s.analysed + s.lost).toBe(s.sent)
  })
})
