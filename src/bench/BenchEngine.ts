/**
 * `candor serve` with session settings replaced, for `--compare`: the same layers the CLI launches, plus a
 * `SessionConfig` built from the JSON in `CANDOR_BENCH_SESSION` (for instance `{"pool":{"maxBatch":1}}`).
 * Runs until SIGTERM, then shuts down gracefully like the CLI.
 */
import { Cause, Effect, Exit, Fiber, Layer, Logger, References } from "effect"
import * as SessionConfig from "../actors/SessionConfig.ts"
import { AppConfig } from "../config.ts"
import { announce, serverLayer } from "../main.ts"

const overrides = JSON.parse(process.env.CANDOR_BENCH_SESSION ?? "{}") as Partial<SessionConfig.SessionSettings>
const settings = { ...SessionConfig.defaultSessionSettings, ...overrides }
const session = SessionConfig.layer({
  ...overrides,
  pool: { ...SessionConfig.defaultSessionSettings.pool, ...overrides.pool }
})

const program = Layer.launch(announce.pipe(Layer.provideMerge(serverLayer()))).pipe(
  Effect.provide(session),
  Effect.provide(AppConfig.layerFromRecord(process.env)),
  Effect.provide(
    Layer.mergeAll(
      Layer.succeed(References.MinimumLogLevel, "Warn"),
      Logger.layer([Logger.consolePretty({ colors: false })])
    )
  )
)
const fiber = Effect.runFork(program)
process.once("SIGTERM", () => Effect.runFork(Fiber.interrupt(fiber)))
process.once("SIGINT", () => Effect.runFork(Fiber.interrupt(fiber)))
fiber.addObserver((exit) => {
  if (!Exit.isSuccess(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
    console.error(`bench engine failed (settings ${JSON.stringify(settings.pool)}):\n${Cause.pretty(exit.cause)}`)
    process.exit(1)
  }
  process.exit(0)
})
