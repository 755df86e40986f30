/**
 * The load generator: simulated candidates spread over worker threads (so their work never shares the main
 * thread's event loop), every frame's fate collected here, and statistics for any time window — including the
 * generator's own send lateness and event-loop delay, which say whether it, not the engine, was the bottleneck.
 */
import type { Worker } from "node:worker_threads"
import { startWorker } from "./BenchWorkers.ts"
import { type LatencySummary, Sample, summarize } from "./LatencySummary.ts"
import type { CandidateMode, CandidateSpec, LoadCommand, LoadReport, LoadTick } from "./LoadProtocol.ts"

export interface WindowStats {
  readonly from: number
  readonly to: number
  readonly seconds: number
  /** Frames the candidates' cameras produced (sent + skipped). */
  readonly offered: number
  readonly sent: number
  /** Not sent: throttled by `slowDown` or held back by a full socket buffer. */
  readonly skipped: number
  readonly analysed: number
  /** Sent, never answered. */
  readonly lost: number
  /** Sent and answered with an error instead of an analysis (the engine shed them). */
  readonly rejected: number
  readonly offeredFps: number
  readonly analysedFps: number
  /** Offered frames without an analysis, as a share of offered (skipped + rejected + lost). */
  readonly shedRatio: number
  readonly latencyMs: LatencySummary
  readonly facesPerFrame: number
  readonly generator: {
    /** How late frames left against their schedule. */
    readonly sendLatenessMs: LatencySummary
    /** Worst per-second p99 of a worker's event-loop delay. */
    readonly loopDelayP99Ms: number
    readonly loopDelayMaxMs: number
  }
  readonly events: Readonly<Record<string, number>>
}

export interface GeneratorOptions {
  /** Engine base URL (http or https); the WebSocket URL is derived from it. */
  readonly url: string
  /**
   * Several nodes of one engine (a cluster): each candidate without a URL of its own connects to the next of them,
   * round-robin in the order candidates are added. Absent: every candidate connects to `url`.
   */
  readonly urls?: ReadonlyArray<string>
  readonly clips: ReadonlyArray<ReadonlyArray<Uint8Array>>
  readonly threads: number
  readonly lossTimeoutMs: number
}

/** The WebSocket base URL of an http(s) (or already ws) base URL. */
const toWs = (url: string) => url.replace(/^http/, "ws")

/**
 * Which node each candidate connects to (as a ws URL): its own `url` if it has one; otherwise, with several nodes,
 * the next of them round-robin — the k-th such candidate of the generator (from 0, `offset` before these) gets
 * `nodes[k % nodes.length]`; with one node or none, the worker's URL (no `url`).
 */
export const placeOnNodes = (
  candidates: ReadonlyArray<CandidateSpec>,
  nodes: ReadonlyArray<string>,
  offset = 0
): Array<CandidateSpec> => {
  let k = offset
  return candidates.map((c) => {
    if (c.url !== undefined) return { ...c, url: toWs(c.url) }
    if (nodes.length <= 1) return c
    return { ...c, url: toWs(nodes[k++ % nodes.length]!) }
  })
}

const inRange = (values: Float64Array, stride: number, from: number, to: number, f: (i: number) => void) => {
  for (let i = 0; i < values.length; i += stride) {
    const at = values[i]!
    if (at >= from && at < to) f(i)
  }
}

export class LoadGenerator {
  private readonly sent = new Sample()
  private readonly lateness = new Sample()
  private readonly skipped = new Sample()
  private readonly analysed = new Sample()
  private readonly lost = new Sample()
  private readonly rejected = new Sample()
  private readonly ticks: Array<{ at: number; p99: number; max: number; events: Record<string, number> }> = []
  private readonly listeners = new Set<(tick: LoadTick, worker: number) => void>()
  private readonly openByWorker: Array<number>
  /** Each worker's last tick: when, and its oldest frame still waiting for an answer. */
  private readonly lastTicks: Array<{ readonly at: number; readonly oldestPending: number | null } | undefined>
  private nextWorker = 0
  private nextNode = 0

  private constructor(
    private readonly workers: ReadonlyArray<Worker>,
    readonly options: GeneratorOptions
  ) {
    this.openByWorker = workers.map(() => 0)
    this.lastTicks = workers.map(() => undefined)
    workers.forEach((w, index) => {
      w.on("message", (report: LoadReport) => {
        if (report._tag === "Tick") this.record(report, index)
      })
    })
  }

  static start(options: GeneratorOptions): LoadGenerator {
    const url = toWs(options.url)
    const workers = Array.from({ length: options.threads }, (_, i) =>
      startWorker("./loadWorker.ts", {
        url,
        clips: options.clips,
        lossTimeoutMs: options.lossTimeoutMs,
        seed: 7919 * (i + 1)
      })
    )
    for (const w of workers) w.on("error", (e) => console.error(`bench: load worker failed: ${e.stack ?? e}`))
    return new LoadGenerator(workers, options)
  }

  /** Sockets open now, over all workers (as of their last tick). */
  get open(): number {
    return this.openByWorker.reduce((a, b) => a + b, 0)
  }

  onTick(listener: (tick: LoadTick, worker: number) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private record(tick: LoadTick, worker: number) {
    this.sent.pushAll(tick.sent)
    this.lateness.pushAll(tick.lateness)
    this.skipped.pushAll(tick.skipped)
    this.analysed.pushAll(tick.analysed)
    this.lost.pushAll(tick.lost)
    this.rejected.pushAll(tick.rejected)
    this.openByWorker[worker] = tick.open
    this.lastTicks[worker] = { at: tick.at, oldestPending: tick.oldestPending }
    this.ticks.push({ at: tick.at, p99: tick.loopDelayP99, max: tick.loopDelayMax, events: { ...tick.events } })
    for (const l of this.listeners) l(tick, worker)
  }

  private request<A extends LoadReport>(worker: Worker, command: LoadCommand, tag: A["_tag"]): Promise<A> {
    return new Promise((resolve) => {
      const on = (report: LoadReport) => {
        if (report._tag !== tag) return
        worker.off("message", on)
        resolve(report as A)
      }
      worker.on("message", on)
      worker.postMessage(command)
    })
  }

  /**
   * Connects the candidates (spread round-robin over the workers, and over the nodes when there are several) and
   * starts them in `mode`. A candidate with a `url` of its own connects there.
   */
  async add(
    candidates: ReadonlyArray<CandidateSpec>,
    mode: CandidateMode
  ): Promise<{ opened: number; refused: number }> {
    const shares = this.workers.map((): Array<CandidateSpec> => [])
    const placed = placeOnNodes(candidates, this.options.urls ?? [], this.nextNode)
    this.nextNode += candidates.filter((c) => c.url === undefined).length
    for (const c of placed) shares[this.nextWorker++ % this.workers.length]!.push(c)
    const results = await Promise.all(
      this.workers.map((w, i) =>
        shares[i]!.length === 0
          ? { opened: 0, refused: 0 }
          : this.request<Extract<LoadReport, { _tag: "Added" }>>(
              w,
              { _tag: "Add", candidates: shares[i]!, mode },
              "Added"
            )
      )
    )
    return results.reduce((a, r) => ({ opened: a.opened + r.opened, refused: a.refused + r.refused }), {
      opened: 0,
      refused: 0
    })
  }

  /** Every protocol event counted so far. */
  events(): Record<string, number> {
    const events: Record<string, number> = {}
    for (const t of this.ticks) for (const [k, v] of Object.entries(t.events)) events[k] = (events[k] ?? 0) + v
    return events
  }

  /**
   * Resolves once every frame offered before `to` has an outcome (analysed, or lost after the timeout) here: as
   * soon as every worker has reported, after `to`, no frame sent before `to` still waiting (its next tick, within a
   * second), and at the latest when the loss timeout has passed for them all (workers expire frames each tick).
   */
  settle(to: number): Promise<void> {
    const settled = () =>
      this.lastTicks.every((t) => t !== undefined && t.at >= to && (t.oldestPending === null || t.oldestPending >= to))
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        stop()
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, to + this.options.lossTimeoutMs + 1200 - Date.now()))
      const stop = this.onTick(() => {
        if (settled()) done()
      })
      if (settled()) done()
    })
  }

  windowStats(from: number, to: number): WindowStats {
    const seconds = (to - from) / 1000
    let sent = 0
    let skipped = 0
    let lost = 0
    let rejected = 0
    let faces = 0
    const latencies = new Sample()
    const late = new Sample()
    inRange(this.sent.values(), 1, from, to, () => sent++)
    inRange(this.skipped.values(), 1, from, to, () => skipped++)
    inRange(this.lost.values(), 1, from, to, () => lost++)
    inRange(this.rejected.values(), 1, from, to, () => rejected++)
    const a = this.analysed.values()
    inRange(a, 3, from, to, (i) => {
      latencies.push(a[i + 1]!)
      faces += a[i + 2]!
    })
    const l = this.lateness.values()
    inRange(l, 2, from, to, (i) => late.push(l[i + 1]!))
    const ticks = this.ticks.filter((t) => t.at > from && t.at <= to + 1000)
    const events: Record<string, number> = {}
    for (const t of ticks) for (const [k, v] of Object.entries(t.events)) events[k] = (events[k] ?? 0) + v
    const offered = sent + skipped
    return {
      from,
      to,
      seconds,
      offered,
      sent,
      skipped,
      analysed: latencies.length,
      lost,
      rejected,
      offeredFps: offered / seconds,
      analysedFps: latencies.length / seconds,
      shedRatio: offered === 0 ? 0 : Math.max(0, offered - latencies.length) / offered,
      latencyMs: summarize(latencies.values()),
      facesPerFrame: latencies.length === 0 ? 0 : faces / latencies.length,
      generator: {
        sendLatenessMs: summarize(late.values()),
        loopDelayP99Ms: Math.max(0, ...ticks.map((t) => t.p99)),
        loopDelayMaxMs: Math.max(0, ...ticks.map((t) => t.max))
      },
      events
    }
  }

  /** Closes every candidate (optionally finishing its interview) and the worker threads. */
  async stop(finish = false): Promise<void> {
    // A worker that died or hangs must not hold the run: it is terminated after a grace period either way.
    const grace = new Promise<void>((resolve) => setTimeout(resolve, 15_000).unref())
    await Promise.race([
      Promise.all(this.workers.map((w) => this.request(w, { _tag: "Stop", finish }, "Stopped"))),
      grace
    ])
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}

/** Whether the generator, not the engine, limited a window: frames left late or its event loop stalled. */
export const generatorVerdict = (stats: WindowStats, fps: number): string | undefined => {
  const interval = 1000 / fps
  const g = stats.generator
  if (g.sendLatenessMs.p99 > Math.min(50, interval / 2)) {
    return `load generator lagging: send lateness p99 ${g.sendLatenessMs.p99.toFixed(1)} ms`
  }
  if (g.loopDelayP99Ms > 50) return `load generator lagging: event-loop delay p99 ${g.loopDelayP99Ms.toFixed(1)} ms`
  return undefined
}
