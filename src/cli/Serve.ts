/**
 * `candor serve`: the engine (composed in main.ts) until SIGINT or SIGTERM, then a graceful shutdown of everything
 * it opened.
 */
import * as V8 from "node:v8"
import { Cause, Effect, Exit, Fiber, Layer } from "effect"
import { AppConfig, type AppSettings, describeSettings } from "../config.ts"
import { announce, serverLayer } from "../main.ts"
import * as EmbeddedLock from "../store/EmbeddedLock.ts"
import { VERSION } from "../Version.ts"
import { loadSettings, withLogLevel } from "./Settings.ts"

/** Runs a layer until SIGINT/SIGTERM, then closes it; a second signal gives up on a shutdown that hangs. */
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

/**
 * Lets every JavaScript heap of the process (this thread's, and the inference and database workers' started after
 * it) grow by `percent` past what a full collection left before the next one (V8's flag, read at each collection).
 * Under load V8's own choice kept the main thread's heap so close to its limit that a full collection ran every
 * 0.8 s, with no young-generation collection in between; at 100 % the engine's CPU per frame was 0.94× (three pairs at
 * 50 candidates, bench/RESULTS.md, "Way tried: garbage collection") and its resident memory the same.
 */
export const applyHeapGrowth = (percent: number): void => {
  if (percent > 0) V8.setFlagsFromString(`--heap-growing-percent=${percent}`)
}

/** Exit code: 0 after a clean shutdown, 1 if the engine failed, 2 for a bad setting. */
export const serve = async (): Promise<number> => {
  const settings = await loadSettings()
  if (settings === undefined) return 2
  applyHeapGrowth(settings.heapGrowingPercent)
  console.error(`candor ${VERSION}: ${JSON.stringify(describeSettings(settings))}`)
  // The vision models are built from the pinned package on first start (well under a second), then verified.
  const { ensureModels } = await import("../inference/ModelBuilder.ts")
  const built = await ensureModels()
  const fresh = built.models.filter((m) => m.status === "built")
  if (fresh.length > 0) console.error(`candor: built ${fresh.map((m) => m.file).join(", ")} into ${built.outDir}`)
  return launch(settings, announce.pipe(Layer.provideMerge(serverLayer())))
}
