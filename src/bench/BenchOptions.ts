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
  /** Target an already running engine instead of starting one: the first of `urls`, where interviews are created. */
  readonly url: string | undefined
  /**
   * Every node of the running engine (`--url a,b,c`: one cluster); candidates' sockets are spread over them
   * round-robin and every node's `/metrics` is summed. Empty when the bench starts the engine.
   */
  readonly urls: ReadonlyArray<string>
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
  /** Started engines use this Redis server (a key prefix of their own) instead of the in-process live store. */
  readonly redisUrl: string | undefined
  /**
   * `--cluster N`: the same paced load against one started node and then against N started cluster nodes, and
   * the relay's own cost (see ClusterOverhead.ts). Needs `databaseUrl` and `redisUrl`.
   */
  readonly cluster: number | undefined
  /** `--cluster`: how many times the sides (and the relay's phases) run, alternating their order. */
  readonly rounds: number
  /** Run the started engine under `node --cpu-prof`, writing profiles here and summarising them. */
  readonly profileDir: string | undefined
  /** Where prepared 640×480 frames are cached. */
  readonly framesDir: string | undefined
  /** Print a live progress line (off when stderr is not a terminal). */
  readonly progress: boolean
}

/**
 * `--url`: one base URL, or several separated by commas (the nodes of one cluster). Each must be an http(s) URL
 * without query or fragment, and none may repeat; trailing slashes are dropped. Returns the URLs, or a message
 * naming the entry at fault.
 */
export const parseUrlList = (raw: string): ReadonlyArray<string> | string => {
  const entries = raw.split(",").map((e) => e.trim())
  const urls: Array<string> = []
  for (const [i, entry] of entries.entries()) {
    const which = entries.length === 1 ? "" : ` (entry ${i + 1} of ${entries.length})`
    if (entry === "") return `--url has an empty entry${which}: separate the nodes' URLs with single commas`
    const bad = `--url expects http:// or https:// URLs; "${entry}"${which} is not one`
    if (!/^https?:\/\/[^/]/i.test(entry)) return bad
    let parsed: URL
    try {
      parsed = new URL(entry)
    } catch {
      return bad
    }
    if (parsed.search !== "" || parsed.hash !== "")
      return `--url expects base URLs; "${entry}"${which} has a query or fragment`
    const url = entry.replace(/\/+$/, "")
    if (urls.includes(url)) return `--url names ${url} twice: each node once`
    urls.push(url)
  }
  return urls
}

const positive = (flag: string, value: number, integer: boolean): string | undefined =>
  Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value))
    ? undefined
    : `--${flag} expects a positive ${integer ? "integer" : "number"}`

/** `--cluster N` runs phases of its own on engines it starts: what it needs, and what it cannot be combined with. */
const clusterProblem = (o: BenchOptions): string | undefined => {
  if (o.cluster === undefined) return undefined
  if (!Number.isInteger(o.cluster) || o.cluster < 2) return "--cluster expects a node count of 2 or more"
  if (o.databaseUrl === undefined || o.redisUrl === undefined)
    return "--cluster needs --database-url and --redis-url (cluster nodes share Postgres and Redis)"
  const others: Array<[boolean, string]> = [
    [o.url !== undefined, "--url"],
    [o.smoke, "--smoke"],
    [o.findMax, "--find-max"],
    [o.saturate, "--saturate"],
    [o.compare, "--compare"],
    [o.peer, "--peer"],
    [o.idle !== undefined, "--idle"],
    [o.profileDir !== undefined, "--profile"]
  ]
  const clash = others.find(([set]) => set)
  return clash === undefined
    ? undefined
    : `--cluster starts its own engines and runs its own phases; it cannot be combined with ${clash[1]}`
}

/** Fills in the defaults (shorter under `--smoke`) and returns a message naming the flag of the first mistake. */
export const resolveBenchOptions = (flags: BenchFlags, isTty: boolean): BenchOptions | string => {
  const { smoke } = flags
  const or = <A>(value: Option.Option<A>, fallback: A) => Option.getOrElse(value, () => fallback)
  const rawUrl = Option.getOrUndefined(flags.url)
  const urls = rawUrl === undefined ? [] : parseUrlList(rawUrl)
  if (typeof urls === "string") return urls
  const options: BenchOptions = {
    sessions: or(flags.sessions, smoke ? 4 : 10),
    fps: or(flags.fps, 5),
    durationS: or(flags.duration, smoke ? 1.5 : 15),
    warmupS: or(flags.warmup, smoke ? 0.5 : 5),
    url: urls[0],
    urls,
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
    redisUrl: Option.getOrUndefined(flags.redisUrl),
    cluster: Option.getOrUndefined(flags.cluster),
    rounds: or(flags.rounds, 1),
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
    options.databaseUrl === undefined || /^postgres(ql)?:\/\//.test(options.databaseUrl)
      ? undefined
      : "--database-url expects postgres:// or postgresql://",
    options.redisUrl === undefined || /^rediss?:\/\//.test(options.redisUrl)
      ? undefined
      : "--redis-url expects redis:// or rediss://",
    options.url !== undefined && options.redisUrl !== undefined
      ? "--redis-url is for engines the bench starts; it cannot target --url"
      : undefined,
    clusterProblem(options),
    positive("rounds", options.rounds, true),
    options.rounds > 1 && options.cluster === undefined ? "--rounds is for --cluster" : undefined,
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

/** The options as they may be written down (results, JSON): no API key, no database or Redis password. */
export const redactOptions = (o: BenchOptions): BenchOptions => ({
  ...o,
  apiKey: o.apiKey === undefined ? undefined : "***",
  databaseUrl: o.databaseUrl === undefined ? undefined : hidePassword(o.databaseUrl),
  redisUrl: o.redisUrl === undefined ? undefined : hidePassword(o.redisUrl)
})

/** The command line as it may be written down: secrets hidden, the JSON output file (not a knob) left out. */
export const redactArgs = (args: ReadonlyArray<string>): Array<string> =>
  args
    .filter((arg, i) => arg !== "--json" && args[i - 1] !== "--json" && !arg.startsWith("--json="))
    .map((arg, i, kept) => {
      const previous = kept[i - 1]
      if (previous === "--api-key") return "***"
      if (previous === "--database-url" || previous === "--redis-url") return hidePassword(arg)
      if (arg.startsWith("--api-key=")) return "--api-key=***"
      for (const flag of ["--database-url=", "--redis-url="])
        if (arg.startsWith(flag)) return `${flag}${hidePassword(arg.slice(flag.length))}`
      return arg
    })
