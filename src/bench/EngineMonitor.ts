/**
 * Watches a run once a second: the engine's `/metrics` (CPU, RSS, pool queue and batch sizes), this process's
 * own CPU (the load generator's cost), and a live progress line on stderr. An engine of several nodes is scraped
 * on every node at once; the figures are their sums, and each node's own are kept beside them.
 */
import { type Engine, scrapeNodes } from "./EngineUnderTest.ts"
import type { LoadGenerator } from "./LoadGenerator.ts"
import { between, type EngineGauges, type Stage, sumGauges } from "./PrometheusText.ts"

export interface SeriesPoint {
  /** Seconds since the phase began. */
  readonly t: number
  readonly sessions: number
  readonly analysedFps: number
  readonly p99Ms: number
  readonly engineCpuCores: number | undefined
  readonly engineRssMB: number | undefined
  readonly queueDepth: number | undefined
  readonly meanBatch: number | undefined
  /** The engine's event-loop delay since the previous sample (99th percentile, bucket upper bound). */
  readonly loopP99Ms: number | undefined
  readonly generatorCpuCores: number
}

const mb = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / 2 ** 20)

/** One node of a several-node engine over a window, from its own `/metrics`. */
export interface NodeSummary {
  readonly url: string
  readonly cpuCores: number | undefined
  readonly mainCores: number | undefined
  readonly workerCores: number | undefined
  /** Frames analysed by the sessions this node owns, per second (`candor_frames_analyzed_total`). */
  readonly analysedPerSecond: number | undefined
  /** Frames that reached the sessions this node owns, per second (`candor_frames_received_total`). */
  readonly receivedPerSecond: number | undefined
  /** Candidate sockets open on this node at the window's end (its own and relayed ones). */
  readonly sockets: number | undefined
  readonly rssMBMax: number | undefined
}

/** Counters of one node (or the sum) between the first and last scrape of a window. */
export const nodeWindow = (url: string, gauges: ReadonlyArray<EngineGauges>, from: number, to: number): NodeSummary => {
  const inside = gauges.filter((g) => g.at >= from - 1100 && g.at <= to + 1100)
  const first = inside[0]
  const last = inside.at(-1)
  const seconds = first === undefined || last === undefined ? 0 : (last.at - first.at) / 1000
  const rate = (pick: (g: EngineGauges) => number | undefined) => {
    const a = first === undefined ? undefined : pick(first)
    const b = last === undefined ? undefined : pick(last)
    return a === undefined || b === undefined || seconds <= 0 ? undefined : (b - a) / seconds
  }
  const rss = inside.map((g) => g.rssBytes).filter((v): v is number => v !== undefined)
  return {
    url,
    cpuCores: rate((g) => g.cpuSeconds),
    mainCores: rate((g) => g.mainCpuSeconds),
    workerCores: rate((g) => g.workerCpuSeconds),
    analysedPerSecond: rate((g) => g.sessionFramesAnalyzed),
    receivedPerSecond: rate((g) => g.sessionFramesIn),
    sockets: last?.candidateSockets,
    rssMBMax: rss.length === 0 ? undefined : mb(Math.max(...rss))
  }
}

export interface EngineSummary {
  readonly cpuCores: number | undefined
  readonly rssMBMax: number | undefined
  readonly rssMBEnd: number | undefined
  readonly queueDepthMax: number | undefined
  readonly meanBatch: number | undefined
  /** Share of analysed frames on which the detector ran, when the engine exports it. */
  readonly detectorShare: number | undefined
  /** This process (the load generator) in cores. */
  readonly generatorCpuCores: number
  /** Mean ms per frame of each pool stage inside the engine's workers (wall time, batched calls shared out). */
  readonly stageMs: Partial<Record<Stage, number>>
  /** The engine's main-thread event-loop delay over the phase: 99th percentile and worst (bucket upper bounds). */
  readonly loopP99Ms?: number | undefined
  readonly loopMaxMs?: number | undefined
  /** Ticks of the engine's event loop that fired more than 50 ms late during the phase. */
  readonly loopStalls?: number | undefined
  /** Cores used by the engine's main thread and by its inference worker threads; the rest of `cpuCores` is native helpers. */
  readonly mainCores?: number | undefined
  readonly workerCores?: number | undefined
  /** Cores used by the embedded database's thread (PGlite), when the engine runs one; also outside `mainCores`. */
  readonly databaseCores?: number | undefined
  /** Each node's own figures, when the engine has several (the rest of the summary is their sum). */
  readonly nodes?: ReadonlyArray<NodeSummary>
}

export class EngineMonitor {
  private readonly gauges: Array<EngineGauges> = []
  /** Per node, in the order of `engine.urls`. */
  private readonly nodeGauges: Array<Array<EngineGauges>>
  private readonly own: Array<{ at: number; cpu: number }> = []
  private readonly points: Array<SeriesPoint & { readonly at: number }> = []
  private timer: NodeJS.Timeout | undefined
  private began = Date.now()
  private label = ""
  private sessions = 0

  constructor(
    private readonly engine: Engine,
    private readonly generator: LoadGenerator | undefined,
    private readonly progress: boolean
  ) {
    this.nodeGauges = engine.urls.map(() => [])
  }

  /** Starts (or relabels) the once-a-second sampling for a phase. */
  phase(label: string, sessions: number): void {
    this.label = label
    this.sessions = sessions
    this.began = Date.now()
    if (this.timer === undefined) {
      void this.sample()
      this.timer = setInterval(() => void this.sample(), 1000)
    }
  }

  setSessions(sessions: number): void {
    this.sessions = sessions
  }

  private async sample(): Promise<void> {
    const at = Date.now()
    const u = process.cpuUsage()
    this.own.push({ at, cpu: (u.user + u.system) / 1e6 })
    const nodes = await scrapeNodes(this.engine)
    for (const [i, n] of nodes.entries()) if (n !== undefined) this.nodeGauges[i]!.push(n)
    // A sum without one of the nodes would look like counters going backwards: that sample is left out.
    const g = nodes.every((n) => n !== undefined) ? sumGauges(nodes) : undefined
    if (g !== undefined) this.gauges.push(g)
    const live = this.generator?.windowStats(at - 3000, at - 1000)
    const prevG = this.gauges.at(-2)
    const d = g !== undefined && prevG !== undefined ? between(prevG, g) : undefined
    const prevOwn = this.own.at(-2)
    const ownCores = prevOwn === undefined ? 0 : (this.own.at(-1)!.cpu - prevOwn.cpu) / ((at - prevOwn.at) / 1000)
    const point = {
      at,
      t: (at - this.began) / 1000,
      sessions: this.sessions,
      analysedFps: live?.analysedFps ?? 0,
      p99Ms: live?.latencyMs.p99 ?? 0,
      engineCpuCores: d?.cpuCores,
      engineRssMB: mb(g?.rssBytes),
      queueDepth: g?.queueDepth,
      meanBatch: d?.meanBatch,
      loopP99Ms: d?.loopP99Ms,
      generatorCpuCores: ownCores
    }
    this.points.push(point)
    if (this.progress) {
      const f = (v: number | undefined, digits = 0) => (v === undefined ? "–" : v.toFixed(digits))
      process.stderr.write(
        `\r\x1b[2K${this.label} ${point.t.toFixed(0)}s  ${this.sessions} cand  ${f(live?.offeredFps)}→${f(point.analysedFps)} fps  p99 ${f(point.p99Ms)} ms  shed ${f((live?.shedRatio ?? 0) * 100, 1)}%  engine ${f(point.engineCpuCores, 2)} cores ${f(point.engineRssMB)} MB  queue ${f(point.queueDepth)}  batch ${f(point.meanBatch, 1)}  gen ${point.generatorCpuCores.toFixed(2)} cores`
      )
    }
  }

  /** Engine and generator figures between two instants (ms since the epoch). */
  summary(from: number, to: number): EngineSummary {
    const inside = this.gauges.filter((g) => g.at >= from - 1100 && g.at <= to + 1100)
    const first = inside[0]
    const last = inside.at(-1)
    const d = first !== undefined && last !== undefined && last !== first ? between(first, last) : undefined
    const rss = inside.map((g) => g.rssBytes).filter((v): v is number => v !== undefined)
    const queue = inside.map((g) => g.queueDepth).filter((v): v is number => v !== undefined)
    const own = this.own.filter((o) => o.at >= from - 1100 && o.at <= to + 1100)
    const ownFirst = own[0]
    const ownLast = own.at(-1)
    return {
      cpuCores: d?.cpuCores,
      rssMBMax: rss.length === 0 ? undefined : mb(Math.max(...rss)),
      rssMBEnd: mb(last?.rssBytes),
      queueDepthMax: queue.length === 0 ? undefined : Math.max(...queue),
      meanBatch: d?.meanBatch,
      detectorShare: d?.detectorShare,
      stageMs: d?.stageMs ?? {},
      loopP99Ms: d?.loopP99Ms,
      loopMaxMs: d?.loopMaxMs,
      loopStalls: d?.loopStalls,
      mainCores: d?.mainCores,
      workerCores: d?.workerCores,
      ...(d?.databaseCores === undefined ? {} : { databaseCores: d.databaseCores }),
      ...(this.engine.urls.length > 1
        ? { nodes: this.engine.urls.map((url, i) => nodeWindow(url, this.nodeGauges[i]!, from, to)) }
        : {}),
      generatorCpuCores:
        ownFirst === undefined || ownLast === undefined || ownLast === ownFirst
          ? 0
          : (ownLast.cpu - ownFirst.cpu) / ((ownLast.at - ownFirst.at) / 1000)
    }
  }

  /** The per-second series between two instants, `t` counted from `from`. */
  series(from: number, to: number): Array<SeriesPoint> {
    return this.points
      .filter((p) => p.at >= from && p.at <= to)
      .map(({ at, ...p }) => ({ ...p, t: Math.round((at - from) / 100) / 10 }))
  }

  /** Latest RSS (of every node), scraped now. */
  async rssMB(): Promise<number | undefined> {
    const nodes = await scrapeNodes(this.engine)
    return nodes.every((n) => n !== undefined) ? mb(sumGauges(nodes).rssBytes) : undefined
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    if (this.progress) process.stderr.write("\r\x1b[2K")
  }
}
