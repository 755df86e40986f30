/** Runs the command line in this process, through the same parser as `bin/candor.js`, and shows what it printed. */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, ConfigProvider, Effect, Exit, Stdio } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import { vi } from "vitest"
import type { BenchOptions } from "../../src/bench/BenchOptions.ts"
import { benchVerb } from "../../src/cli/BenchVerb.ts"
import { runCli } from "../../src/cli/RunCli.ts"

export interface CliResult {
  readonly code: number
  /** What went through console.log (help, results) and console.error (usage errors, failures). */
  readonly stdout: string
  readonly stderr: string
}

/** `candor <args>`: exit code and output (what the verb writes to process.stdout directly is not captured). */
export const cli = async (args: ReadonlyArray<string>): Promise<CliResult> => {
  const out: Array<string> = []
  const err: Array<string> = []
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")))
  const error = vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")))
  try {
    const code = await Effect.runPromise(runCli(args).pipe(Effect.provide(NodeServices.layer)))
    return { code, stdout: out.join("\n"), stderr: err.join("\n") }
  } finally {
    log.mockRestore()
    error.mockRestore()
  }
}

const silent = CliOutput.layerPresenter({ present: () => Effect.void })

/**
 * The options `candor bench <args>` would run with, given these environment variables and whether stderr is a
 * terminal; or the message it would refuse them with. The bench itself is not run.
 */
export const benchOptionsOf = async (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  isTty = false
): Promise<BenchOptions | string> => {
  let seen: BenchOptions | undefined
  const command = benchVerb((options) => Effect.sync(() => void (seen = options)))
  const stdio = Stdio.layerTest({ args: Effect.succeed(["bench", ...args]), stderrIsTerminal: Effect.succeed(isTty) })
  const exit = await Effect.runPromiseExit(
    Command.runWith(command, { version: "test" })(args).pipe(
      Effect.provide(stdio),
      Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))),
      Effect.provide(silent),
      Effect.provide(NodeServices.layer)
    )
  )
  if (Exit.isSuccess(exit)) return seen!
  const failure = Cause.findErrorOption(exit.cause)
  if (failure._tag === "Some" && CliError.isCliError(failure.value) && failure.value._tag === "ShowHelp") {
    return failure.value.errors.map((e) => e.message).join("\n")
  }
  throw new Error(`candor bench ${args.join(" ")} crashed`, { cause: exit.cause })
}
