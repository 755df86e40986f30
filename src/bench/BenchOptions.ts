/**
 * The knobs of `candor bench`: the parsed flags (BenchFlags) with their defaults filled in and their ranges and
 * combinations checked, so that a run never starts on settings it cannot honour.
 */
import { Option } from "effect"
import { availableParallelism } from "node:os"
import type { BenchFlags } from "./BenchFlags.ts"

export interface BenchOptions {
  /** Simulated candidates for a fixed-load run, and the first step of `--find-max`. */
  readonly sessions: number
  /** Frames per second each candidate streams. */
  readonly fps: number
  /** Seconds measured per run or per step (after the warm-up). */
  readonly durationS: number
  /** Seconds streamed before measuring (connections, JIT, model caches, tracking settle). */
  readonly warmupS: number
  /** Target an already running engine instead of starting one. */
  readonly url: string | undefined
  /** Recruiter API key for `--url` (a started engine is seeded by the bench itself). */
  readonly apiKey: string | undefined
  /** Write the full results as JSON to this file. */
  readonly jsonFile: string | undefined
  /** Write RESULTS.md and the latency chart into this directory. */
  readonly resultsDir: string | undefined
  readonly findMax: boolean
  /** Sessions added per `--find-max` step. */
  readonly step: number
  /** `--find-max` stops here even if the budget still holds. */
  readonly maxSessions: number
  /** p99 frame→analysis latency budget in ms. */
  readonly budgetMs: number
  /** Largest acceptable share of offered frames not analysed (0.01 = 1 %). */
  readonly maxShed: number
  readonly compare: boolean
  readonly peer: boolean
  /** Open this many idle candidate sockets and report memory per socket. */
  readonly idle: number | undefined
  /** Saturate the engine with closed-loop candidates to measure end-to-end frames/s and pipeline efficiency. */
  readonly saturate: boolean
  /** A short run of every phase that checks the harness works, not that it is fast. */
  readonly smoke: boolean
  /** Worker threads of the load generator. */
  readonly threads: number
  /** Cores the engine may use; the model-only bound and the peer use as many. */
  readonly cores: number
  /** Run started engines on a throw-away database on this Postgres server instead of embedded PGlite. */
  readonly databaseUrl: string | undefined
  /** Run the started engine under `node --cpu-prof`, writing profiles here and summarising them. */
  readonly profileDir: string | undefined
  /** Where prepared 640×480 frames are cached. */
  readonly framesDir: string | undefined
  /** Print a live progress line (off when stderr is not a terminal). */
  readonly progress: boolean
}

const positive = (flag: string, value: number, integer: boolean): string | undefined =>
  Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value))
    ? undefined
    : `--${flag} expects a positive ${integer ? "integer" : "number"}`

/** Fills in the defaults (shorter under `--smoke`) and returns a message naming the flag of the first mistake. */
export const resolveBenchOptions = (flags: BenchFlags, isTty: boolean): BenchOptions | string => {
  const { smoke } = flags
  const or = <A>(value: Option.Option<A>, fallback: A) => Option.getOrElse(value, () => fallback)
  const options: BenchOptions = {
    sessions: or(flags.sessions, smoke ? 4 : 10),
    fps: or(flags.fps, 5),
    durationS: or(flags.duration, smoke ? 1.5 : 15),
    warmupS: or(flags.warmup, smoke ? 0.5 : 5),
    url: Option.getOrUndefined(flags.url)?.replace(/\/+$/, ""),
    apiKey: Option.getOrUndefined(flags.apiKey),
    jsonFile: Option.getOrUndefined(flags.json),
    resultsDir: Option.getOrUndefined(flags.results),
    findMax: flags.findMax,
    step: or(flags.step, 10),
    maxSessions: or(flags.maxSessions, 300),
    budgetMs: or(flags.budgetMs, 100),
    maxShed: or(flags.maxShed, 0.01),
    compare: flags.compare,
    peer: flags.peer,
    idle: Option.getOrUndefined(flags.idle) ?? (smoke ? 20 : undefined),
    saturate: flags.saturate || smoke,
    smoke,
    threads: or(flags.threads, 1),
    cores: or(flags.cores, availableParallelism()),
    framesDir: Option.getOrUndefined(flags.framesDir),
    databaseUrl: Option.getOrUndefined(flags.databaseUrl),
    profileDir: Option.getOrUndefined(flags.profile),
    progress: isTty && !flags.noProgress
  }
  const problems = [
    positive("sessions", options.sessions, true),
    positive("fps", options.fps, false),
    positive("duration", options.durationS, false),
    options.warmupS >= 0 && Number.isFinite(options.warmupS) ? undefined : "--warmup expects a number ≥ 0",
    positive("step", options.step, true),
    positive("max-sessions", options.maxSessions, true),
    positive("budget-ms", options.budgetMs, false),
    options.maxShed >= 0 && options.maxShed < 1 ? undefined : "--max-shed expects a ratio in [0, 1)",
    options.idle === undefined ? undefined : positive("idle", options.idle, true),
    positive("threads", options.threads, true),
    positive("cores", options.cores, true),
    options.url === undefined || /^https?:\/\//.test(options.url) ? undefined : "--url expects http:// or https://",
    options.databaseUrl === undefined || /^postgres(ql)?:\/\//.test(options.databaseUrl)
      ? undefined
      : "--database-url expects postgres:// or postgresql://",
    options.url !== undefined && options.apiKey === undefined
      ? "--url needs --api-key (or CANDOR_API_KEY) to create interviews"
      : undefined,
    options.url !== undefined && options.compare ? "--compare restarts the engine; it cannot target --url" : undefined,
    options.url !== undefined && options.profileDir !== undefined
      ? "--profile profiles an engine the bench starts; it cannot target --url"
      : undefined
  ]
  return problems.find((p) => p !== undefined) ?? options
}

const hidePassword = (url: string) => {
  try {
    const u = new URL(url)
    if (u.password !== "") u.password = "***"
    return u.toString()
  } catch {
    return "***"
  }
}

/** The options as they may be written down (results, JSON): no API key, no database password. */
export const redactOptions = (o: BenchOptions): BenchOptions => ({
  ...o,
  apiKey: o.apiKey === undefined ? undefined : "***",
  databaseUrl: o.databaseUrl === undefined ? undefined : hidePassword(o.databaseUrl)
})

/** The command line as it may be written down: secrets hidden, the JSON output file (not a knob) left out. */
export const redactArgs = (args: ReadonlyArray<string>): Array<string> =>
  args
    .filter((arg, i) => arg !== "--json" && args[i - 1] !== "--json" && !arg.startsWith("--json="))
    .map((arg, i, kept) => {
      const previous = kept[i - 1]
      if (previous === "--api-key") return "***"
      if (previous === "--database-url") return hidePassword(arg)
      if (arg.startsWith("--api-key=")) return "--api-key=***"
      if (arg.startsWith("--database-url="))
        return `--database-url=${hidePassword(arg.slice("--database-url=".length))}`
      return arg
    })
