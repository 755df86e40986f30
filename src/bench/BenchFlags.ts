/**
 * The flags of `candor bench`, declared for the command line parser so that `candor bench --help` lists them. Any
 * flag's default can come from `CANDOR_BENCH_<FLAG>` (e.g. `CANDOR_BENCH_DURATION=30`), so a CI job can tune a run
 * without editing its command line. Values stay optional here: some defaults depend on `--smoke`, and the ranges
 * are checked together in BenchOptions.
 */
import { Config } from "effect"
import { type Command, Flag } from "effect/cli"

const envName = (flag: string) => `CANDOR_BENCH_${flag.toUpperCase().replace(/-/g, "_")}`

const int = (name: string, description: string) =>
  Flag.Int(name).pipe(
    Flag.withMetavar("N"),
    Flag.withFallbackConfig(Config.Int(envName(name))),
    Flag.optional,
    Flag.withDescription(description)
  )

const number = (name: string, metavar: string, description: string) =>
  Flag.Finite(name).pipe(
    Flag.withMetavar(metavar),
    Flag.withFallbackConfig(Config.Finite(envName(name))),
    Flag.optional,
    Flag.withDescription(description)
  )

const text = (name: string, metavar: string, description: string, fallback = Config.String(envName(name))) =>
  Flag.String(name).pipe(
    Flag.withMetavar(metavar),
    Flag.withFallbackConfig(fallback),
    Flag.optional,
    Flag.withDescription(description)
  )

/** A switch; the environment may turn it on (true, yes, on, 1) or off (false, no, off, 0). */
const toggle = (name: string, description: string) =>
  Flag.Boolean(name).pipe(
    // `--no-progress` is itself the switch: no `--no-no-progress`, and no `--no-peer` that would mean nothing.
    Flag.withoutNegation,
    Flag.withFallbackConfig(Config.Boolean(envName(name))),
    Flag.withDefault(false),
    Flag.withDescription(description)
  )

export const benchFlags = {
  sessions: int("sessions", "simulated candidates; the first step of --find-max (default 10, smoke 4)"),
  fps: number("fps", "F", "frames per second per candidate (default 5)"),
  duration: number("duration", "S", "seconds measured per run or step (default 15)"),
  warmup: number("warmup", "S", "seconds streamed before measuring (default 5)"),
  url: text(
    "url",
    "URL",
    "target a running engine (needs --api-key); several comma-separated URLs: the nodes of one cluster, interviews created through the first, sockets spread round-robin, every node's /metrics summed; default: start one"
  ),
  apiKey: text(
    "api-key",
    "KEY",
    "recruiter API key for --url (env CANDOR_API_KEY too)",
    Config.String(envName("api-key")).pipe(Config.orElse(() => Config.String("CANDOR_API_KEY")))
  ),
  json: text("json", "FILE", "write all results as JSON (default bench/out/last-run.json)"),
  results: text("results", "DIR", "write RESULTS.md and latency.svg into DIR"),
  findMax: toggle(
    "find-max",
    "add --step sessions until p99 > --budget-ms or shed > --max-shed (a step over budget is measured again)"
  ),
  step: int("step", "sessions added per --find-max step (default 10)"),
  maxSessions: int("max-sessions", "--find-max stops here (default 300)"),
  budgetMs: number("budget-ms", "MS", "p99 frame→analysis latency budget (default 100)"),
  maxShed: number("max-shed", "R", "largest share of offered frames not analysed (default 0.01)"),
  saturate: toggle(
    "saturate",
    "closed-loop candidates: end-to-end frames/s and pipeline efficiency (against the model-only bound and the pipeline in this process)"
  ),
  compare: toggle("compare", "batching off vs on, tracking off vs on (engine restarted per run)"),
  peer: toggle("peer", "Human (tfjs-wasm) vs our pipeline on the same frames and cores"),
  idle: int("idle", "open N idle candidate sockets and report memory per socket (smoke 20)"),
  smoke: toggle("smoke", "every phase, briefly (≤ 30 s): checks the harness, not the speed"),
  threads: int("threads", "load-generator worker threads (default 1)"),
  cores: int("cores", "cores for the engine, the model bound and the peer (default: all)"),
  databaseUrl: text(
    "database-url",
    "URL",
    "started engines use a throw-away database on this Postgres server (default: embedded PGlite)"
  ),
  redisUrl: text(
    "redis-url",
    "URL",
    "started engines use this Redis server, each with a key prefix of its own (default: in-process live store)"
  ),
  cluster: int(
    "cluster",
    "same load on one started node, then on N started cluster nodes (CPU per analysed frame, their ratio), the relay's own cost, and a frame's crossing per inference placement; needs --database-url and --redis-url"
  ),
  rounds: int(
    "rounds",
    "--cluster: run the one node and the cluster (and the relay's phases) N times, alternating (default 1)"
  ),
  framesDir: text("frames-dir", "DIR", "cache for the prepared frames (default bench/out/frames)"),
  profile: text("profile", "DIR", "run the started engine under node --cpu-prof into DIR and list its hot functions"),
  noProgress: toggle("no-progress", "no live progress line (there is none when stderr is not a terminal)")
}

/** The flags as parsed: `Option.none()` where neither the command line nor the environment set a value. */
export type BenchFlags = Command.Command.Config.Infer<typeof benchFlags>
