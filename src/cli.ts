/**
 * `candor <verb>`: the command line. Each verb is a small function returning an exit code; the engine itself is
 * composed in main.ts.
 */
import { Cause, Effect, Exit, Fiber, Layer, Logger, References } from "effect"
import * as Fs from "node:fs"
import { AppConfig, type AppSettings, describeSettings } from "./config.ts"
import { announce, serverLayer, storageLayer } from "./main.ts"
import { VERSION } from "./Version.ts"
import { seedDemo } from "./Seed.ts"
import { JoinTokens } from "./http/JoinTokens.ts"
import * as Database from "./store/Database.ts"
import * as EmbeddedLock from "./store/EmbeddedLock.ts"
import { backup } from "./store/Backup.ts"
import { runMigrations } from "./store/Migrations.ts"

const usage = `candor ${VERSION} — real-time interview analysis engine

Usage: candor <command> [options]

Commands:
  serve                         run the engine (HTTP + WebSocket) on HOST:PORT (default 127.0.0.1:8080)
  models                        build models/*.onnx from the pinned weights and verify them
  analyze <image|dir>... [--json] [--heatmap out.png] [--no-affect]
                                faces, eye aspect ratio, blinks and emotions per image
  bench [--sessions N] [--fps F] [--duration S] [--url U] [--json FILE]
        [--find-max] [--compare] [--peer] [--idle N] [--smoke] [--results DIR]
                                load test with simulated candidates (candor bench --help)
  migrate                       apply database migrations
  seed [--json]                 create a demo tenant, API key, interview and candidate token
  backup [--out FILE]           export every table as SQL (pg_dump plain format, data only)
  help                          this text

Configuration comes from environment variables; see README.md.`

/** Reads settings, or explains which variable is wrong and exits. */
const loadSettings = (): Promise<AppSettings | undefined> =>
  Effect.runPromiseExit(Effect.provide(Effect.service(AppConfig), AppConfig.layerFromEnv)).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    const message = Cause.pretty(exit.cause)
      .split("\n")
      .filter((l) => !l.trimStart().startsWith("at ") || l.includes("["))
      .join("\n")
    console.error(`candor: invalid configuration\n${message}`)
    return undefined
  })

const withLogLevel = (settings: AppSettings) =>
  Layer.mergeAll(
    Layer.succeed(References.MinimumLogLevel, settings.logLevel === "None" ? "None" : settings.logLevel),
    Logger.layer([Logger.consolePretty({ colors: process.stderr.isTTY === true })])
  )

/** Runs a layer until SIGINT/SIGTERM, then closes it (graceful shutdown of everything it opened). */
const launch = <A, E>(settings: AppSettings, layer: Layer.Layer<A, E, AppConfig>) =>
  new Promise<number>((resolve) => {
    const program = Layer.launch(layer).pipe(
      Effect.provide(AppConfig.layerFromRecord(process.env)),
      Effect.provide(withLogLevel(settings))
    )
    const fiber = Effect.runFork(program)
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) {
        console.error(`candor: second ${signal}, exiting now`)
        process.exit(130)
      }
      stopping = true
      console.error(`candor: ${signal} received, shutting down`)
      Effect.runFork(Fiber.interrupt(fiber))
    }
    process.once("SIGINT", () => stop("SIGINT"))
    process.once("SIGTERM", () => stop("SIGTERM"))
    fiber.addObserver((exit) => {
      if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return resolve(0)
      const busy = Cause.findErrorOption(exit.cause)
      if (busy._tag === "Some" && busy.value instanceof EmbeddedLock.EmbeddedDatabaseBusy) {
        console.error(`candor: ${busy.value.message}`)
      } else {
        console.error(`candor: failed to start\n${Cause.pretty(exit.cause)}`)
      }
      resolve(1)
    })
  })

const serve = async () => {
  const settings = await loadSettings()
  if (settings === undefined) return 2
  console.error(`candor ${VERSION}: ${JSON.stringify(describeSettings(settings))}`)
  // The vision models are built from the pinned package on first start (well under a second), then verified.
  const { ensureModels } = await import("./inference/ModelBuilder.ts")
  const built = await ensureModels()
  const fresh = built.models.filter((m) => m.status === "built")
  if (fresh.length > 0) console.error(`candor: built ${fresh.map((m) => m.file).join(", ")} into ${built.outDir}`)
  return launch(settings, announce.pipe(Layer.provideMerge(serverLayer())))
}

/** Runs an operator effect directly against the database (no server holds it). */
const direct = async <A>(
  settings: AppSettings,
  effect: Effect.Effect<A, unknown, Layer.Success<typeof storageLayer> | JoinTokens>,
  /** `migrate` reports what it applies, so it gets a client that has not migrated on its own. */
  migrated = true
) => {
  const config = AppConfig.layerFromRecord(process.env)
  const layer = (
    migrated
      ? Layer.mergeAll(storageLayer, JoinTokens.layer)
      : (Database.layerClient as unknown as Layer.Layer<
          Layer.Success<typeof storageLayer> | JoinTokens,
          unknown,
          AppConfig
        >)
  ).pipe(Layer.provideMerge(config))
  const scoped = Effect.scoped(
    Effect.gen(function* () {
      if (settings.databaseUrl === undefined && settings.pgliteDir !== ":memory:") {
        yield* EmbeddedLock.acquire(settings.dataDir)
      }
      return yield* effect.pipe(Effect.provide(layer))
    })
  )
  return Effect.runPromiseExit(scoped.pipe(Effect.provide(withLogLevel({ ...settings, logLevel: "Warn" }))))
}

/** On embedded defaults a running server owns the database: ask it over loopback with its admin token. */
const viaServer = async (
  settings: AppSettings,
  path: string,
  as: "json" | "text" = "json"
): Promise<unknown | undefined> => {
  if (settings.databaseUrl !== undefined || settings.pgliteDir === ":memory:") return undefined
  const holder = EmbeddedLock.readLock(settings.dataDir)
  if (holder === undefined) return undefined
  if (holder.url === null) {
    throw new Error(`a Candor server (pid ${holder.pid}) is starting on this data directory; try again in a moment`)
  }
  const response = await fetch(`${holder.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${holder.adminToken}` }
  })
  if (!response.ok)
    throw new Error(`the running server (pid ${holder.pid}) answered ${response.status}: ${await response.text()}`)
  return as === "json" ? response.json() : response.text()
}

interface OperatorOptions<A> {
  /** Shows the result (run here, or the running server's JSON answer). */
  readonly print: (value: A) => void
  /** Shows the running server's answer as text instead of parsing it as JSON (streamed output). */
  readonly printRemote?: (text: string) => void
  /** `migrate` reports what it applies, so it gets a client that has not migrated on its own. */
  readonly migrated?: boolean
}

/** Runs an operator command through the running server when it owns the embedded database, else directly. */
const operator = async <A>(
  path: string,
  effect: Effect.Effect<A, unknown, Layer.Success<typeof storageLayer> | JoinTokens>,
  options: OperatorOptions<A>
) => {
  const settings = await loadSettings()
  if (settings === undefined) return 2
  try {
    const remote = await viaServer(settings, path, options.printRemote === undefined ? "json" : "text")
    if (remote !== undefined) {
      if (options.printRemote === undefined) options.print(remote as A)
      else options.printRemote(remote as string)
      return 0
    }
  } catch (e) {
    console.error(`candor: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  }
  const exit = await direct(settings, effect, options.migrated ?? true)
  if (Exit.isSuccess(exit)) {
    options.print(exit.value)
    return 0
  }
  const busy = Cause.findErrorOption(exit.cause)
  console.error(
    `candor: ${busy._tag === "Some" && busy.value instanceof EmbeddedLock.EmbeddedDatabaseBusy ? busy.value.message : Cause.pretty(exit.cause)}`
  )
  return 1
}

const migrate = () =>
  operator(
    "/internal/migrate",
    Effect.map(runMigrations, (applied) => ({ applied: applied.map(([id, name]) => `${id}_${name}`) })),
    {
      print: (r) =>
        console.log(r.applied.length === 0 ? "migrations: up to date" : `migrations applied: ${r.applied.join(", ")}`),
      migrated: false
    }
  )

const seed = (args: ReadonlyArray<string>) =>
  operator("/internal/seed", seedDemo(), {
    print: (r) => {
      if (args.includes("--json")) console.log(JSON.stringify(r))
      else
        console.log(
          `tenant:          ${r.tenantId}\nAPI key:         ${r.apiKey}\ninterview:       ${r.interviewId}\ncandidate token: ${r.candidateToken}`
        )
    }
  })

const backupCommand = async (args: ReadonlyArray<string>) => {
  const outAt = args.indexOf("--out")
  const out = outAt >= 0 ? args[outAt + 1] : undefined
  if (outAt >= 0 && (out === undefined || out.startsWith("--"))) {
    console.error("candor backup: --out needs a file name")
    return 2
  }
  const sink = out === undefined ? process.stdout : Fs.createWriteStream(out)
  const finish = () => new Promise<void>((resolve) => (out === undefined ? resolve() : sink.end(resolve)))
  const code = await operator(
    "/internal/backup",
    backup((chunk) => sink.write(chunk)),
    {
      printRemote: (remote) => sink.write(remote),
      print: (summary) =>
        console.error(
          `candor backup: ${summary.tables} tables, ${summary.rows} rows${out === undefined ? "" : ` → ${out}`}`
        )
    }
  )
  await finish()
  return code
}

const notYet = (verb: string) => async () => {
  console.error(`candor ${verb}: not yet available in this build`)
  return 3
}

/** Verbs provided by feature modules, loaded only when used (they pull in heavy native modules). */
const lazy =
  (load: () => Promise<(args: ReadonlyArray<string>) => Promise<number>>, verb: string) =>
  async (args: ReadonlyArray<string>) => {
    let run: (args: ReadonlyArray<string>) => Promise<number>
    try {
      run = await load()
    } catch (e) {
      if ((e as { code?: string }).code === "ERR_MODULE_NOT_FOUND") return notYet(verb)()
      throw e
    }
    return run(args)
  }

const verbs: Record<string, (args: ReadonlyArray<string>) => Promise<number>> = {
  serve,
  start: serve,
  migrate,
  seed,
  models: lazy(async () => (await import("./inference/ModelBuilder.ts")).modelsCommand, "models"),
  analyze: lazy(async () => (await import("./inference/Analyze.ts")).analyzeCommand, "analyze"),
  bench: lazy(async () => (await import("./bench/BenchCommand.ts")).benchCommand, "bench"),
  backup: backupCommand,
  help: async () => {
    console.log(usage)
    return 0
  }
}

const [verb = "help", ...rest] = process.argv.slice(2)
const command = verbs[verb === "--help" || verb === "-h" ? "help" : verb]
if (command === undefined) {
  console.error(`candor: unknown command '${verb}'\n\n${usage}`)
  process.exitCode = 2
} else {
  command(rest).then(
    (code) => {
      process.exitCode = code
      // Native handles (worker pools, sockets) must not keep a finished command alive.
      if (verb !== "serve" && verb !== "start") setImmediate(() => process.exit(code))
    },
    (e) => {
      console.error(`candor ${verb}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
      process.exit(1)
    }
  )
}
