/**
 * The knobs of `candor bench`, read from flags first and `CANDOR_BENCH_*` environment variables second, so a CI
 * job can tune a run without editing its command line.
 */
import { availableParallelism } from "node:os"

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
  readonly help: boolean
}

export const usage = `usage: candor bench [options]
  Simulated candidates stream real single-face JPEGs to the engine over the candidate WebSocket protocol.
  --sessions N       candidates (default 10; env CANDOR_BENCH_SESSIONS)
  --fps F            frames per second per candidate (default 5)
  --duration S       seconds measured per run or step (default 15)
  --warmup S         seconds streamed before measuring (default 5)
  --url URL          target a running engine (needs --api-key or CANDOR_API_KEY); default: start one
  --json FILE        write all results as JSON (default bench/out/last-run.json)
  --results DIR      write RESULTS.md and latency.svg into DIR
  --find-max         add --step sessions until p99 > --budget-ms or shed > --max-shed
                     (a step over budget is measured again before it counts)
  --step N           sessions added per step (default 10); --max-sessions N (default 300)
  --budget-ms MS     p99 latency budget (default 100); --max-shed R (default 0.01)
  --saturate         closed-loop candidates: end-to-end frames/s and pipeline efficiency (against the
                     model-only bound and against the pipeline run in this process)
  --compare          batching off vs on, tracking off vs on (engine restarted per run)
  --peer             Human (tfjs-wasm) vs our pipeline on the same frames and cores
  --idle N           open N idle candidate sockets and report memory per socket
  --smoke            every phase, briefly (≤ 30 s): checks the harness, not the speed
  --threads N        load-generator worker threads (default 1)
  --cores N          cores for the engine, the model bound and the peer (default: all)
  --database-url URL started engines use a throw-away database on this Postgres server (default: embedded PGlite)
  --frames-dir DIR   cache for the prepared frames (default bench/out/frames)
  --profile DIR      run the started engine under node --cpu-prof into DIR and list its hot functions
  --no-progress      no live progress line
Environment: CANDOR_BENCH_<FLAG> (e.g. CANDOR_BENCH_DURATION=30) sets any flag's default.`

const NUMBER_FLAGS = [
  "sessions",
  "fps",
  "duration",
  "warmup",
  "step",
  "max-sessions",
  "budget-ms",
  "max-shed",
  "idle",
  "threads",
  "cores"
] as const
const STRING_FLAGS = ["url", "api-key", "json", "results", "frames-dir", "database-url", "profile"] as const
const BOOLEAN_FLAGS = ["find-max", "compare", "peer", "saturate", "smoke", "no-progress", "help"] as const

type NumberFlag = (typeof NUMBER_FLAGS)[number]
type StringFlag = (typeof STRING_FLAGS)[number]
type BooleanFlag = (typeof BOOLEAN_FLAGS)[number]

const envName = (flag: string) => `CANDOR_BENCH_${flag.toUpperCase().replace(/-/g, "_")}`

const positive = (flag: string, value: number, integer: boolean): string | undefined =>
  Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value))
    ? undefined
    : `--${flag} expects a positive ${integer ? "integer" : "number"}`

/** Parses flags over environment defaults; returns a message for the first mistake. */
export const parseBenchOptions = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>> = process.env,
  isTty = process.stderr.isTTY === true
): BenchOptions | string => {
  const numbers = new Map<NumberFlag, number>()
  const strings = new Map<StringFlag, string>()
  const booleans = new Set<BooleanFlag>()
  for (const flag of NUMBER_FLAGS) {
    const raw = env[envName(flag)]
    if (raw !== undefined && raw !== "") numbers.set(flag, Number(raw))
  }
  for (const flag of STRING_FLAGS) {
    const raw = env[envName(flag)]
    if (raw !== undefined && raw !== "") strings.set(flag, raw)
  }
  for (const flag of BOOLEAN_FLAGS) if (/^(1|true|yes)$/i.test(env[envName(flag)] ?? "")) booleans.add(flag)
  if (env.CANDOR_API_KEY !== undefined && env.CANDOR_API_KEY !== "" && !strings.has("api-key")) {
    strings.set("api-key", env.CANDOR_API_KEY)
  }

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "-h") {
      booleans.add("help")
      continue
    }
    if (!arg.startsWith("--")) return `unexpected argument '${arg}'`
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined]
    if ((BOOLEAN_FLAGS as ReadonlyArray<string>).includes(name)) {
      if (inline !== undefined) return `--${name} takes no value`
      booleans.add(name as BooleanFlag)
      continue
    }
    const isNumber = (NUMBER_FLAGS as ReadonlyArray<string>).includes(name)
    if (!isNumber && !(STRING_FLAGS as ReadonlyArray<string>).includes(name)) return `unknown option --${name}`
    const value = inline ?? args[++i]
    if (value === undefined || value === "") return `--${name} needs a value`
    if (isNumber) numbers.set(name as NumberFlag, Number(value))
    else strings.set(name as StringFlag, value)
  }

  const smoke = booleans.has("smoke")
  const num = (flag: NumberFlag, fallback: number) => numbers.get(flag) ?? fallback
  const options: BenchOptions = {
    sessions: num("sessions", smoke ? 4 : 10),
    fps: num("fps", 5),
    durationS: num("duration", smoke ? 1.5 : 15),
    warmupS: num("warmup", smoke ? 0.5 : 5),
    url: strings.get("url")?.replace(/\/+$/, ""),
    apiKey: strings.get("api-key"),
    jsonFile: strings.get("json"),
    resultsDir: strings.get("results"),
    findMax: booleans.has("find-max"),
    step: num("step", 10),
    maxSessions: num("max-sessions", 300),
    budgetMs: num("budget-ms", 100),
    maxShed: num("max-shed", 0.01),
    compare: booleans.has("compare"),
    peer: booleans.has("peer"),
    idle: numbers.get("idle") ?? (smoke ? 20 : undefined),
    saturate: booleans.has("saturate") || smoke,
    smoke,
    threads: num("threads", 1),
    cores: num("cores", availableParallelism()),
    framesDir: strings.get("frames-dir"),
    databaseUrl: strings.get("database-url"),
    profileDir: strings.get("profile"),
    progress: isTty && !booleans.has("no-progress"),
    help: booleans.has("help")
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
