/**
 * The settings a verb that touches the engine reads from the environment, and the logger it runs with.
 */
import { Cause, Effect, Exit, Layer, Logger, References } from "effect"
import { AppConfig, type AppSettings } from "../config.ts"

/** Reads settings, or explains which variable is wrong (stack frames dropped: they do not help an operator). */
export const loadSettings = (): Promise<AppSettings | undefined> =>
  Effect.runPromiseExit(Effect.provide(Effect.service(AppConfig), AppConfig.layerFromEnv)).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    const message = Cause.pretty(exit.cause)
      .split("\n")
      .filter((l) => !l.trimStart().startsWith("at ") || l.includes("["))
      .join("\n")
    console.error(`candor: invalid configuration\n${message}`)
    return undefined
  })

/** Logs at the configured level to stderr, coloured only on a terminal. */
export const withLogLevel = (settings: AppSettings) =>
  Layer.mergeAll(
    Layer.succeed(References.MinimumLogLevel, settings.logLevel === "None" ? "None" : settings.logLevel),
    Logger.layer([Logger.consolePretty({ colors: process.stderr.isTTY === true })])
  )
