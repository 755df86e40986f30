/**
 * Runs the command line (Candor.ts) over an argument list and turns every way it can end into an exit code:
 * 0 when done or when help was asked for, 2 for a usage error, the verb's own code when it failed, 1 for a crash.
 */
import { Cause, Console, Effect, Exit, Stdio } from "effect"
import { CliConfig, CliError, CliOutput, Command, GlobalFlag } from "effect/cli"
import { VERSION } from "../Version.ts"
import { candor } from "./Candor.ts"
import { VerbFailed } from "./Verb.ts"

const colours = (stream: NodeJS.WriteStream) => stream.isTTY === true && !process.env.NO_COLOR

/**
 * Help that was asked for goes to stdout; a usage error goes to stderr, help first and the error last (where the
 * eye lands), so that stdout carries only what a verb produces (`seed --json | jq`, `backup > dump.sql`).
 */
const presenter: CliOutput.Presenter = {
  present: (event) => {
    switch (event._tag) {
      case "Help":
        return Console.log(CliOutput.defaultFormatter({ colors: colours(process.stdout) }).formatHelpDoc(event.helpDoc))
      case "Version":
        return Console.log(`${event.name} ${event.version}`)
      case "InvalidInvocation": {
        const format = CliOutput.defaultFormatter({ colors: colours(process.stderr) })
        return Console.error(`${format.formatHelpDoc(event.helpDoc)}\n${format.formatErrors(event.errors)}`)
      }
    }
  }
}

/** Help and version only: `--log-level` would not reach the engine (LOG_LEVEL does), and there is no wizard. */
const builtIns = [GlobalFlag.Help, GlobalFlag.Version]

const exitCodeOf = (exit: Exit.Exit<void, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some" && error.value instanceof VerbFailed) return error.value.code
  if (error._tag === "Some" && CliError.isCliError(error.value)) {
    // `candor` alone shows the help, which is no mistake.
    return error.value._tag === "ShowHelp" && error.value.errors.length === 0 ? 0 : 2
  }
  console.error(`candor: ${Cause.pretty(exit.cause)}`)
  return 1
}

/** Parses `args` (what follows `candor`) and runs the verb; verbs that read the invocation see these `args`. */
export const runCli = (args: ReadonlyArray<string>): Effect.Effect<number, never, Command.Environment> =>
  Effect.gen(function* () {
    const stdio = yield* Stdio.Stdio
    const exit = yield* Command.runWith(candor, { version: VERSION })(args).pipe(
      Effect.provideService(Stdio.Stdio, { ...stdio, args: Effect.succeed(args) }),
      Effect.provide(CliConfig.layer({ builtIns })),
      Effect.provide(CliOutput.layerPresenter(presenter)),
      Effect.exit
    )
    return exitCodeOf(exit)
  })
