/**
 * The measurements made over real WebSockets against one engine: a fixed load, a ramp to the largest load that
 * meets the latency budget, a closed-loop saturation run (end-to-end frames/s), and idle sockets (memory per
 * socket). Each phase runs its own load generator and leaves no candidate behind.
 */
import { readFileSync } from "node:fs"
import type { BenchOptions } from "./BenchOptions.ts"
import { EngineMonitor, type EngineSummary, type SeriesPoint } from "./EngineMonitor.ts"
import { createInterviews, type Engine } from "./EngineUnderTest.ts"
import { generatorVerdict, LoadGenerator, type WindowStats } from "./LoadGenerator.ts"
import type { CandidateMode, CandidateSpec } from "./LoadProtocol.ts"

export interface LoadRunResult {
  readonly name: string
  readonly sessions: number
  /** Frames per second per candidate, or "closed-loop". */
  readonly fps: number | "closed-loop"
  readonly stats: WindowStats
  readonly engine: EngineSummary
  readonly series: ReadonlyArray<SeriesPoint>
  /** Set when the load generator, not the engine, limited the run. */
  readonly generatorLimited: string | undefined
  /** p99 within the budget and shed below the limit. */
  readonly withinBudget: boolean
  /** Protocol events over the whole phase, warm-up included (questions, answers, errors by code...). */
  readonly phaseEvents: Readonly<Record<string, number>>
}

export interface FindMaxResult {
  readonly steps: ReadonlyArray<LoadRunResult>
  /** Most candidates that met the budget, 0 if even the first step failed. */
  readonly maxSessions: number
  readonly stoppedBecause: string
}

export interface IdleResult {
  readonly sockets: number
  readonly opened: number
  readonly refused: number
  readonly rssMBBefore: number | undefined
  readonly rssMBAfter: number | undefined
  readonly kBPerSocket: number | undefined
  readonly connectSeconds: number
  readonly interviewSeconds: number
}

export interface PhaseContext {
  readonly engine: Engine
  readonly clips: ReadonlyArray<ReadonlyArray<Uint8Array>>
  readonly options: BenchOptions
  readonly log: (line: string) => void
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Frames unanswered this long count as lost; far beyond any budget, short enough to settle windows quickly. */
const lossTimeout = (options: BenchOptions) => (options.smoke ? 1000 : Math.max(2000, 20 * options.budgetMs))

/** Mean think time before answering: questions move on during a run without dominating it. */
export const ANSWER_AFTER_MS = 8000

const withinBudget = (stats: WindowStats, options: BenchOptions) =>
  stats.analysed > 0 && stats.latencyMs.p99 <= options.budgetMs && stats.shedRatio < options.maxShed

const withGenerator = async <A>(
  ctx: PhaseContext,
  f: (generator: LoadGenerator, monitor: EngineMonitor) => Promise<A>
): Promise<A> => {
  const generator = LoadGenerator.start({
    url: ctx.engine.url,
    urls: ctx.engine.urls,
    clips: ctx.clips,
    threads: ctx.options.threads,
    lossTimeoutMs: lossTimeout(ctx.options)
  })
  const monitor = new EngineMonitor(ctx.engine, generator, ctx.options.progress)
  try {
    return await f(generator, monitor)
  } finally {
    monitor.stop()
    await generator.stop()
  }
}

const result = (
  name: string,
  sessions: number,
  fps: number | "closed-loop",
  stats: WindowStats,
  monitor: EngineMonitor,
  generator: LoadGenerator,
  options: BenchOptions
): LoadRunResult => ({
  name,
  sessions,
  fps,
  stats,
  engine: monitor.summary(stats.from, stats.to),
  series: monitor.series(stats.from, stats.to),
  generatorLimited: generatorVerdict(stats, fps === "closed-loop" ? 30 : fps),
  withinBudget: withinBudget(stats, options),
  phaseEvents: generator.events()
})

const addCandidates = async (
  ctx: PhaseContext,
  generator: LoadGenerator,
  n: number,
  mode: CandidateMode,
  prepared?: ReadonlyArray<CandidateSpec>
) => {
  const specs = prepared ?? (await createInterviews(ctx.engine, n, ANSWER_AFTER_MS))
  const { refused } = await generator.add(specs, mode)
  if (refused > 0) ctx.log(`${refused} of ${specs.length} candidates could not connect`)
}

/**
 * `sessions` candidates at `fps` each: warm-up, then one measured window. `prepared`: these candidates (their
 * interviews created already, perhaps each with its node) instead of new ones.
 */
export const runPaced = (
  ctx: PhaseContext,
  name: string,
  sessions: number,
  fps: number,
  prepared?: ReadonlyArray<CandidateSpec>
): Promise<LoadRunResult> =>
  withGenerator(ctx, async (generator, monitor) => {
    monitor.phase(`${name}: connecting`, sessions)
    await addCandidates(ctx, generator, sessions, { _tag: "Paced", fps }, prepared)
    monitor.phase(`${name}: warm-up`, sessions)
    await sleep(ctx.options.warmupS * 1000)
    const from = Date.now()
    monitor.phase(name, sessions)
    await sleep(ctx.options.durationS * 1000)
    const to = Date.now()
    monitor.phase(`${name}: settling`, sessions)
    await generator.settle(to)
    return result(name, sessions, fps, generator.windowStats(from, to), monitor, generator, ctx.options)
  })

/**
 * Adds `step` candidates at a time, each step warmed up and measured while the previous ones keep streaming,
 * until p99 passes the budget or shed passes its limit, or `maxSessions`. A p99 over a few seconds rests on its
 * few worst frames, so a step over budget is measured once more before it counts (unless it is far over); after
 * the confirmed failure one more step shows the knee of the curve for the chart.
 */
export const runFindMax = (ctx: PhaseContext): Promise<FindMaxResult> =>
  withGenerator(ctx, async (generator, monitor) => {
    const { options } = ctx
    const steps: Array<LoadRunResult> = []
    let sessions = options.sessions
    let stoppedBecause = `reached --max-sessions ${options.maxSessions}`
    let confirming = false
    let failedAt: number | undefined
    monitor.phase("find-max: connecting", sessions)
    await addCandidates(ctx, generator, sessions, { _tag: "Paced", fps: options.fps })
    await sleep(options.warmupS * 1000)
    for (;;) {
      const from = Date.now()
      monitor.phase(`find-max ${sessions}${confirming ? " (again)" : ""}`, sessions)
      await sleep(options.durationS * 1000)
      const to = Date.now()
      await generator.settle(to)
      const name = `${sessions} candidates${confirming ? " (again)" : ""}`
      const step = result(name, sessions, options.fps, generator.windowStats(from, to), monitor, generator, options)
      steps.push(step)
      ctx.log(
        `find-max: ${name} → p99 ${step.stats.latencyMs.p99.toFixed(1)} ms, shed ${(step.stats.shedRatio * 100).toFixed(2)} %${step.generatorLimited === undefined ? "" : ` (${step.generatorLimited})`}`
      )
      if (failedAt !== undefined) break
      if (!step.withinBudget) {
        const farOver = step.stats.latencyMs.p99 > 10 * options.budgetMs || step.stats.shedRatio > 0.2
        if (!confirming && !farOver) {
          // The same candidates keep streaming; measure them again.
          confirming = true
          continue
        }
        failedAt = sessions
        const where = `at ${sessions} candidates${confirming ? ", twice" : ""}`
        stoppedBecause =
          step.stats.latencyMs.p99 > options.budgetMs
            ? `p99 ${step.stats.latencyMs.p99.toFixed(0)} ms > ${options.budgetMs} ms ${where}`
            : `shed ${(step.stats.shedRatio * 100).toFixed(2)} % ≥ ${(options.maxShed * 100).toFixed(2)} % ${where}`
        if (farOver) break
      }
      confirming = false
      const next = Math.min(options.maxSessions, sessions + options.step)
      if (next <= sessions) break
      monitor.phase(`find-max: adding ${next - sessions}`, next)
      await addCandidates(ctx, generator, next - sessions, { _tag: "Paced", fps: options.fps })
      sessions = next
      await sleep(options.warmupS * 1000)
    }
    const passing = steps.filter((s) => s.withinBudget && (failedAt === undefined || s.sessions < failedAt))
    return { steps, maxSessions: passing.at(-1)?.sessions ?? 0, stoppedBecause }
  })

/**
 * Closed loop: candidates send their next frame when one is answered (two in flight each, never faster than the
 * engine's `maxFps`), enough of them to keep every core busy. Analysed frames/s is the end-to-end throughput.
 */
export const runSaturate = (ctx: PhaseContext, sessions: number): Promise<LoadRunResult> =>
  withGenerator(ctx, async (generator, monitor) => {
    monitor.phase("saturate: connecting", sessions)
    await addCandidates(ctx, generator, sessions, { _tag: "ClosedLoop", window: 2 })
    monitor.phase("saturate: warm-up", sessions)
    await sleep(ctx.options.warmupS * 1000)
    const from = Date.now()
    monitor.phase("saturate", sessions)
    await sleep(ctx.options.durationS * 1000)
    const to = Date.now()
    await generator.settle(to)
    return result(
      "saturate (closed loop)",
      sessions,
      "closed-loop",
      generator.windowStats(from, to),
      monitor,
      generator,
      ctx.options
    )
  })

/** Median of five RSS readings 200 ms apart (`--smoke`: 50 ms): one reading can catch a garbage collection half done. */
const steadyRss = async (monitor: EngineMonitor, smoke: boolean): Promise<number | undefined> => {
  const readings: Array<number> = []
  for (let i = 0; i < 5; i++) {
    const mb = await monitor.rssMB()
    if (mb !== undefined) readings.push(mb)
    await sleep(smoke ? 50 : 200)
  }
  return readings.length === 0 ? undefined : readings.sort((a, b) => a - b)[Math.floor(readings.length / 2)]
}

/** The soft limit on open files of this process (the engine child inherits the same). */
export const openFileLimit = (): number | undefined => {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"))
    const soft = line?.split(/\s{2,}/)[1]
    return soft === undefined || soft === "unlimited" ? undefined : Number(soft)
  } catch {
    return undefined
  }
}

/** `n` candidates connect, start their interview and then send nothing; RSS growth per socket is the answer. */
export const runIdle = (ctx: PhaseContext, n: number): Promise<IdleResult> =>
  withGenerator(ctx, async (generator, monitor) => {
    const limit = openFileLimit()
    if (limit !== undefined && limit < n + 256) {
      throw new Error(
        `--idle ${n} needs ${n + 256} open files in this process and in the engine; the limit is ${limit} (raise it with ulimit -n)`
      )
    }
    monitor.phase(`idle: creating ${n} interviews`, 0)
    const t0 = Date.now()
    const specs = await createInterviews(ctx.engine, n, ANSWER_AFTER_MS, 16)
    const interviewSeconds = (Date.now() - t0) / 1000
    await sleep(ctx.options.smoke ? 250 : 1000)
    const rssMBBefore = await steadyRss(monitor, ctx.options.smoke)
    monitor.phase(`idle: connecting ${n}`, n)
    const t1 = Date.now()
    const { opened, refused } = await generator.add(specs, { _tag: "Idle" })
    const connectSeconds = (Date.now() - t1) / 1000
    monitor.phase("idle: holding", n)
    // Long enough for every session to settle into its idle state (and for RSS to show it).
    await sleep(ctx.options.smoke ? 500 : 3000)
    const rssMBAfter = await steadyRss(monitor, ctx.options.smoke)
    return {
      sockets: n,
      opened,
      refused,
      rssMBBefore,
      rssMBAfter,
      kBPerSocket:
        rssMBBefore === undefined || rssMBAfter === undefined || opened === 0
          ? undefined
          : ((rssMBAfter - rssMBBefore) * 1024) / opened,
      connectSeconds,
      interviewSeconds
    }
  })
