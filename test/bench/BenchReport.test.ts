import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { formatText, markdownTable, textTable } from "../../src/bench/BenchReport.ts"
import { type BenchResults, efficiencyOf, judgeTargets } from "../../src/bench/BenchResults.ts"
import { pooledMsPerFrame } from "../../src/bench/ClusterOverhead.ts"
import { renderLatencyChart } from "../../src/bench/LatencyChart.ts"
import type { LoadRunResult } from "../../src/bench/LoadPhases.ts"
import type { ModelBoundResult } from "../../src/bench/ModelBound.ts"
import { analysisOf, renderMarkdown, runKind, writeResults } from "../../src/bench/ResultsMarkdown.ts"
import { benchOptionsOf } from "../support/Cli.ts"

const bound: ModelBoundResult = {
  cores: 2,
  timings: [{ batch: 1, detectMs: 6, meshMs: 2, emotionMs: 2 }],
  cpuTimings: [{ batch: 1, detectMs: 5, meshMs: 2, emotionMs: 1 }],
  best: { detectMs: 6, meshMs: 2, emotionMs: 2 },
  cpuBest: { detectMs: 5, meshMs: 2, emotionMs: 1 },
  framesPerSecond: 200
}

const summary = (p99: number) => ({ count: 100, mean: p99 / 2, p50: p99 / 3, p90: p99 / 2, p99, max: p99 * 2 })

const run = (sessions: number, p99: number, shed: number, analysedFps = 250): LoadRunResult => ({
  name: `${sessions} candidates`,
  sessions,
  fps: 5,
  stats: {
    from: 0,
    to: 10_000,
    seconds: 10,
    offered: 2500,
    sent: 2500,
    skipped: 0,
    analysed: Math.round(2500 * (1 - shed)),
    lost: 0,
    rejected: Math.round(2500 * shed),
    offeredFps: 250,
    analysedFps,
    shedRatio: shed,
    latencyMs: summary(p99),
    facesPerFrame: 1,
    generator: { sendLatenessMs: summary(1), loopDelayP99Ms: 2, loopDelayMaxMs: 3 },
    events: {}
  },
  engine: {
    cpuCores: 1.8,
    rssMBMax: 400,
    rssMBEnd: 390,
    queueDepthMax: 4,
    meanBatch: 2.5,
    detectorShare: 0.5,
    generatorCpuCores: 0.1,
    stageMs: { decode: 2, total: 9 }
  },
  series: [],
  generatorLimited: undefined,
  withinBudget: p99 <= 100 && shed < 0.01,
  phaseEvents: { question: sessions }
})

const options = await benchOptionsOf(["--find-max"])
if (typeof options === "string") throw new Error(options)

const results = (over: Partial<BenchResults> = {}): BenchResults => ({
  startedAt: "2025-01-01T00:00:00.000Z",
  seconds: 60,
  command: "candor bench --find-max",
  machine: { cpu: "Test CPU", cores: 2, memoryGiB: 4, node: "v20", platform: "linux x64", loadAverage: 0.1 },
  engine: { url: "http://127.0.0.1:1", started: true, database: "embedded PGlite" },
  options,
  frames: { clips: 2, framesPerClip: 10, width: 640, height: 480, meanBytes: 30_000 },
  modelBound: bound,
  warnings: [],
  ...over
})

describe("targets", () => {
  it("judges efficiency against the bound at the engine's own detector share", () => {
    const e = efficiencyOf(run(40, 50, 0, 240), bound, { share: 0.1, source: "assumed" })
    // detector on half the frames: 2 cores × 1000 / (3 + 2 + 2) ms
    expect(e.boundFramesPerSecond).toBeCloseTo(2000 / 7, 6)
    expect(e.detectorShareSource).toBe("engine /metrics")
    expect(e.efficiency).toBeCloseTo(240 / (2000 / 7), 6)
    // engine: 1.8 cores for 240 frames/s = 7.5 ms CPU per frame; models: 0.5 × 5 + 2 + 1 = 5.5 ms CPU
    expect(e.cpuEfficiency).toBeCloseTo(5.5 / 7.5, 6)
  })

  it("judges what the server adds against the in-process pipeline of the same run", () => {
    const inProcess = {
      name: "in-process pipeline",
      framesPerSecond: 300,
      frames: 3000,
      seconds: 10,
      latencyMs: summary(20),
      facesPerFrame: 1,
      cpuMsPerFrame: 6,
      coresUsed: 1.8,
      detectorShare: 0.05,
      meanBatch: 2,
      mainThreadMsPerFrame: 0.3,
      stageMs: { decode: 3, detect: 0.3, mesh: 2, emotion: 0.3, total: 6 }
    }
    const e = efficiencyOf(run(40, 50, 0, 240), bound, { share: 0.1, source: "assumed" }, inProcess)
    expect(e.throughServer?.efficiency).toBeCloseTo(240 / 300, 6)
    // engine 7.5 ms CPU per frame against 6 in process
    expect(e.throughServer?.cpuEfficiency).toBeCloseTo(6 / 7.5, 6)
    const verdicts = judgeTargets(results({ efficiency: e }))
    const server = verdicts.find((t) => t.target.includes("in-process pipeline"))!
    expect(server).toMatchObject({ met: false, measured: "80.0 % (240.0 of 300.0 frames/s); by CPU per frame 80.0 %" })
    expect(verdicts.find((t) => t.target.includes("model-only bound"))?.met).toBe(false)
    const fast = efficiencyOf(run(40, 50, 0, 270), bound, { share: 0.1, source: "assumed" }, inProcess)
    expect(judgeTargets(results({ efficiency: fast })).find((t) => t.target.includes("in-process"))?.met).toBe(true)
    expect(formatText(results({ efficiency: e }))).toContain("What the server adds")
    expect(efficiencyOf(run(40, 50, 0, 240), bound, { share: 0.1, source: "assumed" }).throughServer).toBeUndefined()
  })

  it("counts the 60-candidate targets met only when the ramp held the budget that far, on the store it ran on", () => {
    const steps = [run(50, 60, 0), run(60, 90, 0.002), run(70, 140, 0.03)]
    const embedded = "(tracking on) — embedded defaults"
    const postgres = "(tracking on) — Postgres + Redis"
    const met = judgeTargets(results({ findMax: { steps, maxSessions: 60, stoppedBecause: "p99" } }))
    expect(met.find((t) => t.target.endsWith(embedded))?.met).toBe(true)
    expect(met.find((t) => t.target.endsWith(postgres))?.met).toBeUndefined()
    const missed = judgeTargets(
      results({ findMax: { steps: steps.slice(0, 1), maxSessions: 50, stoppedBecause: "x" } })
    )
    expect(missed.find((t) => t.target.endsWith(embedded))?.met).toBe(false)
    const onPostgres = results({
      engine: { url: "http://127.0.0.1:1", started: true, database: "PostgreSQL (throw-away database), Redis" },
      findMax: { steps, maxSessions: 60, stoppedBecause: "p99" }
    })
    expect(judgeTargets(onPostgres).find((t) => t.target.endsWith(postgres))?.met).toBe(true)
    expect(judgeTargets(onPostgres).find((t) => t.target.endsWith(embedded))?.met).toBeUndefined()
    // Both kinds of run stay in RESULTS.md side by side.
    expect(runKind(onPostgres)).toBe("find-max on Postgres")
    expect(runKind(results({ findMax: { steps, maxSessions: 60, stoppedBecause: "p99" } }))).toBe("find-max")
  })

  it("judges the per-frame targets at the most candidates that held the budget", () => {
    const at = (sessions: number, p99: number, cores: number, main: number, decode: number, stalls = 0) => {
      const r = run(sessions, p99, 0, sessions * 5)
      return {
        ...r,
        engine: { ...r.engine, cpuCores: cores, mainCores: main, loopStalls: stalls, stageMs: { decode, total: 4 } }
      }
    }
    // 60 candidates = 300 frames/s: 1.14 cores → 3.80 ms, 0.114 main cores → 0.38 ms.
    const steps = [at(50, 60, 1.1, 0.15, 0.9), at(60, 90, 1.14, 0.114, 0.8), at(70, 140, 1.3, 0.12, 0.85)]
    const verdicts = judgeTargets(results({ findMax: { steps, maxSessions: 60, stoppedBecause: "p99" } }))
    const row = (start: string) =>
      verdicts.find((t) => t.target.startsWith(start) && t.target.endsWith("— embedded defaults"))!
    expect(row("engine CPU")).toMatchObject({ met: true })
    expect(row("engine CPU").measured).toBe("3.80 ms at 60 candidates; 3.80 ms–4.40 ms over the steps within budget")
    expect(row("JPEG")).toMatchObject({ met: true, measured: expect.stringMatching(/^0\.80 ms at 60 candidates/) })
    expect(row("main thread")).toMatchObject({
      met: true,
      measured: expect.stringMatching(/^0\.38 ms at 60 candidates, 0 stalls/)
    })
    // A stall at capacity fails the main-thread row however cheap the frames.
    const stalled = [steps[0]!, at(60, 90, 1.14, 0.114, 0.8, 1)]
    const withStall = judgeTargets(results({ findMax: { steps: stalled, maxSessions: 60, stoppedBecause: "p99" } }))
    expect(withStall.find((t) => t.target.startsWith("main thread"))?.met).toBe(false)
    // The same figures judge only the rows of the store the run was on.
    expect(verdicts.filter((t) => t.target.endsWith("— Postgres + Redis")).map((t) => t.met)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined
    ])
    // Too dear per frame.
    const dear = [at(60, 90, 1.5, 0.2, 1.5)]
    const slow = judgeTargets(results({ findMax: { steps: dear, maxSessions: 60, stoppedBecause: "p99" } }))
    expect(
      slow
        .filter((t) => t.target.endsWith("— embedded defaults"))
        .filter((t) => ["engine CPU", "JPEG", "main thread"].some((k) => t.target.startsWith(k)))
        .map((t) => t.met)
    ).toEqual([false, false, false])
  })

  it("judges no capacity target on a smoke run, which checks the harness with a handful of candidates", () => {
    const steps = [run(4, 30, 0)]
    const smoke = results({
      options: { ...options, smoke: true },
      findMax: { steps, maxSessions: 4, stoppedBecause: "max" }
    })
    const capacity = judgeTargets(smoke).filter((t) => / — (embedded defaults|Postgres \+ Redis)$/.test(t.target))
    expect(capacity).toHaveLength(8)
    expect(capacity.every((t) => t.met === undefined)).toBe(true)
    // The same run, not a smoke run, is judged (and fails: 4 candidates).
    const real = judgeTargets(results({ findMax: { steps, maxSessions: 4, stoppedBecause: "max" } }))
    expect(real.find((t) => t.target.startsWith("≥ 60") && t.target.endsWith("embedded defaults"))?.met).toBe(false)
  })

  it("leaves unmeasured targets undecided instead of failing them", () => {
    const verdicts = judgeTargets(results())
    expect(verdicts.every((t) => t.met === undefined)).toBe(true)
    expect(verdicts.find((t) => t.target.startsWith("10,000"))?.measured).toMatch(/--idle 10000/)
  })

  it("does not call 10,000 idle sockets met from a smaller run", () => {
    const idle = {
      sockets: 100,
      opened: 100,
      refused: 0,
      rssMBBefore: 100,
      rssMBAfter: 101,
      kBPerSocket: 10.24,
      connectSeconds: 1,
      interviewSeconds: 1
    }
    expect(judgeTargets(results({ idle })).find((t) => t.target.startsWith("10,000"))?.met).toBeUndefined()
    const big = { ...idle, sockets: 10_000, opened: 10_000, rssMBAfter: 900 }
    expect(judgeTargets(results({ idle: big })).find((t) => t.target.startsWith("10,000"))?.met).toBe(true)
  })
})

describe("report", () => {
  it("aligns text tables and escapes Markdown cells", () => {
    expect(
      textTable([
        ["a", "bb"],
        ["ccc", "d"]
      ])
    ).toBe("a    bb\nccc   d")
    expect(
      markdownTable([
        ["x", "y"],
        ["a|b", "1"]
      ])
    ).toBe("| x | y |\n| --- | ---: |\n| a\\|b | 1 |")
  })

  it("prints every measured section and the targets", () => {
    const text = formatText(results({ load: run(10, 40, 0) }))
    expect(text).toContain("Model-only bound")
    expect(text).toContain("Load over WebSockets")
    expect(text).toContain("Targets")
    expect(text).not.toContain("Ours vs peer")
  })

  it("gives the embedded database's thread a CPU column of its own, only when a run had one", () => {
    const split = (databaseCores?: number) => {
      const r = run(10, 40, 0, 200)
      const engine = {
        ...r.engine,
        mainCores: 0.2,
        workerCores: 0.8,
        ...(databaseCores === undefined ? {} : { databaseCores })
      }
      return formatText(results({ load: { ...r, engine } }))
    }
    // 200 frames/s analysed: 1.8 cores = 9 ms per frame, 0.2 of them on the database's thread (1 ms).
    const embedded = split(0.2)
    expect(embedded).toMatch(/run\s+engine\s+main thread\s+inference workers\s+database thread\s+native helpers/)
    expect(embedded).toMatch(/9\.00\s+1\.00\s+4\.00\s+1\.00\s+3\.00/)
    expect(split()).not.toMatch(/inference workers\s+database thread/)
    expect(split()).toMatch(/9\.00\s+1\.00\s+4\.00\s+4\.00/)
  })

  it("shows the cluster overhead: the same-run ratio, each node, and what relaying a frame costs", () => {
    const nodeOf = (url: string, cpuCores: number, analysedPerSecond: number, sockets: number) => ({
      url,
      cpuCores,
      mainCores: cpuCores / 4,
      workerCores: cpuCores / 2,
      analysedPerSecond,
      receivedPerSecond: analysedPerSecond,
      sockets,
      rssMBMax: 300
    })
    // 60 frames/s analysed over 10 s, every frame sent analysed (no shed).
    const withNodes = (name: string, cpuCores: number, nodes: ReturnType<typeof nodeOf>[]): LoadRunResult => {
      const r = run(12, 50, 0, 60)
      return { ...r, name, stats: { ...r.stats, sent: 600, analysed: 600 }, engine: { ...r.engine, cpuCores, nodes } }
    }
    const side = (label: string, r: LoadRunResult, nodes: number, workersPerNode: number) => ({
      label,
      urls: Array.from({ length: nodes }, (_, i) => `http://n${i}`),
      workersPerNode,
      loadAverage: 1.5,
      idleCores: 0.02 * nodes,
      run: r,
      cpuMsPerFrame: ((r.engine.cpuCores ?? 0) * 1000) / r.stats.analysedFps,
      cpuMsPerFrameSent: ((r.engine.cpuCores ?? 0) * 1000) / r.stats.analysedFps
    })
    const three = [nodeOf("http://n0", 0.3, 20, 4), nodeOf("http://n1", 0.25, 20, 4), nodeOf("http://n2", 0.2, 20, 4)]
    const local = withNodes("relay: sockets on the owner", 0.6, [
      nodeOf("http://n0", 0.54, 60, 12),
      nodeOf("http://n1", 0.03, 0, 0),
      nodeOf("http://n2", 0.03, 0, 0)
    ])
    const relayed = withNodes("relay: sockets on another node", 0.78, [
      nodeOf("http://n0", 0.6, 60, 0),
      nodeOf("http://n1", 0.15, 0, 12),
      nodeOf("http://n2", 0.03, 0, 0)
    ])
    const relay = {
      sessions: 12,
      fps: 5,
      owner: "http://n0",
      relay: "http://n1",
      loadAverage: 1.2,
      local,
      relayed,
      localNodes: local.engine.nodes!.map((node, i) => ({
        url: node.url,
        role: i === 0 ? ("owner" as const) : ("idle" as const),
        node
      })),
      relayedNodes: relayed.engine.nodes!.map((node, i) => ({
        url: node.url,
        role: (["owner", "relay", "idle"] as const)[i]!,
        node
      })),
      ownerMsLocal: 9,
      ownerMsRelayed: 10,
      relayMsPerFrame: 2,
      clusterMsLocal: 10,
      clusterMsRelayed: 13
    }
    const round = (cores: number) => ({
      single: side("1 node", withNodes("1 node: 12 candidates", 0.54, []), 1, 2),
      cluster: side("3 nodes", withNodes("3 nodes: 12 candidates", cores, three), 3, 1),
      ratio: cores / 0.54,
      relayedShare: 2 / 3
    })
    const row = (name: string, upBytes: number, downBytes: number, socketNodeMs: number, ownerMs: number) => ({
      name,
      upBytes,
      downBytes,
      socketNodeMs,
      ownerMs,
      replies: downBytes > 0 ? 2000 : 0,
      messages: 2000
    })
    const placement = {
      messages: 2000,
      perSecond: 200,
      sessions: 20,
      rounds: [
        {
          loadAverage: 1.5,
          rows: [row("on the owner", 29_900, 250, 1.2, 0.95), row("on the socket's node", 600, 0, 1.05, 0.74)]
        }
      ]
    }
    const one = results({
      cluster: {
        nodes: 3,
        rounds: [round(0.75)],
        ratio: 0.75 / 0.54,
        ratioPerSent: 0.75 / 0.54,
        relay: [relay],
        placement
      }
    })
    expect(runKind(one)).toBe("cluster")
    const text = formatText(one)
    expect(text).toMatch(/ratio, cluster ÷ 1 node\s+1\.39×\s+1\.39×/)
    expect(text).toContain("67 % of them were not on their session's owner")
    expect(text).toMatch(/http:\/\/n1 \(relay\)\s+12\s+0\.0\s+0\.15/)
    expect(text).toMatch(/relaying a frame, in all \(difference\)\s+3\.00/)
    expect(text).toMatch(/owner's extra for a relayed frame\s+1\.00/)
    // Each placement's crossing: the socket's node, the owner, and both.
    expect(text).toMatch(/on the owner\s+29900 \/ 250\s+1\.20\s+0\.95\s+2\.15/)
    expect(text).toMatch(/on the socket's node\s+600 \/ 0\s+1\.05\s+0\.74\s+1\.79/)
    // The four runs appear with the other load runs.
    expect(text).toContain("3 nodes: 12 candidates")
    expect(renderMarkdown([one], undefined, "")).toContain("### The relay's own cost")

    // Two rounds: each round's ratio, and all of a side's CPU over all its frames.
    const rounds = [round(0.75), round(0.95)]
    const single = pooledMsPerFrame(
      rounds.map((x) => x.single.run),
      (x) => x.stats.analysed
    )
    const cluster = pooledMsPerFrame(
      rounds.map((x) => x.cluster.run),
      (x) => x.stats.analysed
    )
    expect(single).toBeCloseTo(9, 10)
    expect(cluster).toBeCloseTo(17_000 / 1200, 10)
    const two = formatText(
      results({
        cluster: { nodes: 3, rounds, ratio: cluster! / single!, ratioPerSent: 1.5, relay: [relay, relay] }
      })
    )
    expect(two).toMatch(/ratio, cluster ÷ 1 node, every round\s+1\.57×\s+1\.50×/)
    expect(two).toMatch(/^ {2}ratio\s+1\.76×$/m)
    expect(two).toMatch(/relaying a frame, in all \(difference\)\s+3\.00\s+3\.00/)
  })

  it("keeps the hand-written analysis when RESULTS.md is regenerated", () => {
    const first = renderMarkdown([results({ load: run(10, 40, 0) })], "latency.svg", "Why p99 grows: GC.")
    expect(first).toContain("![Frame → analysis latency against load](latency.svg)")
    expect(analysisOf(first)).toBe("Why p99 grows: GC.")
    expect(analysisOf("# Bench results\n\nno analysis")).toBe("")
  })
})

describe("latency chart", () => {
  it("draws p50, p90 and p99 lines, the budget, and higher latency higher up", () => {
    const svg = renderLatencyChart(
      [
        { sessions: 10, p50: 20, p90: 30, p99: 40, shed: 0 },
        { sessions: 20, p50: 30, p90: 60, p99: 150, shed: 0.05 }
      ],
      { title: "t <&>", budgetMs: 100 }
    )
    expect(svg.startsWith("<svg")).toBe(true)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect(svg.match(/<path /g)).toHaveLength(3)
    expect(svg).toContain("budget 100 ms")
    expect(svg).toContain("t &lt;&amp;&gt;")
    expect(svg).toContain("5% shed")
    const cy = (label: string) =>
      Number(new RegExp(`cy="([\\d.]+)"[^>]*><title>20 candidates: ${label} `).exec(svg)![1])
    expect(cy("p99")).toBeLessThan(cy("p90"))
    expect(cy("p90")).toBeLessThan(cy("p50"))
  })
})

describe("RESULTS.md", () => {
  it("names each run's machine, since kept runs may come from other machines", () => {
    const older = results({ startedAt: "2025-01-01T10:00:00.000Z", load: run(10, 40, 0) })
    const newer = results({
      startedAt: "2025-01-02T10:00:00.000Z",
      command: "candor bench --find-max --database-url postgres://db",
      machine: { ...older.machine, cpu: "Other CPU", loadAverage: 0.5 },
      findMax: { steps: [run(40, 60, 0)], maxSessions: 40, stoppedBecause: "max" }
    })
    const md = renderMarkdown([older, newer], undefined, "")
    expect(md).toContain("Machines: Test CPU, 2 cores, 4 GiB, linux x64, Node v20; Other CPU, 2 cores")
    expect(md).toContain(
      "- 2025-01-01T10:00:00.000Z (60 s) on Test CPU, 2 cores, 4 GiB, linux x64, Node v20, load average 0.1"
    )
    expect(md).toContain(
      "- 2025-01-02T10:00:00.000Z (60 s) on Other CPU, 2 cores, 4 GiB, linux x64, Node v20, load average 0.5"
    )
    expect(renderMarkdown([older], undefined, "")).toContain("Machine: Test CPU, 2 cores")
  })

  it("keeps the latest run of each kind and judges each target by the latest run that measured it", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "bench-results-"))
    try {
      const steps = [run(40, 60, 0), run(50, 90, 0.002)]
      const findMax = results({
        startedAt: "2025-01-01T10:00:00.000Z",
        findMax: { steps, maxSessions: 50, stoppedBecause: "max" }
      })
      const load1 = results({ startedAt: "2025-01-01T11:00:00.000Z", load: run(10, 40, 0) })
      const load2 = results({ startedAt: "2025-01-01T12:00:00.000Z", load: run(12, 45, 0) })
      expect(runKind(findMax)).toBe("find-max")
      await writeResults(dir, findMax)
      await writeResults(dir, load1)
      await writeResults(dir, load2)
      const runs = JSON.parse(await readFile(path.join(dir, "runs.json"), "utf8")) as Array<BenchResults>
      expect(runs.map((r) => r.startedAt)).toEqual(["2025-01-01T10:00:00.000Z", "2025-01-01T12:00:00.000Z"])
      const md = await readFile(path.join(dir, "RESULTS.md"), "utf8")
      expect(md).toContain(
        "| ≥ 60 candidates at 5 fps, p99 ≤ 100 ms, < 1 % shed (tracking on) — embedded defaults | 50 candidates"
      )
      expect(md).toContain("find-max run, 2025-01-01 10:00")
      expect(md).toContain("![Frame → analysis latency against load](latency.svg)")
      expect(await readFile(path.join(dir, "latency.svg"), "utf8")).toContain("50 candidates: p99")
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
