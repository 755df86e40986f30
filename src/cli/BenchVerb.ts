/**
 * `candor bench`: its flags (BenchFlags) are parsed with every other verb's, their defaults and ranges are settled by
 * BenchOptions before anything runs (a mistake is a usage error, shown with the help), and only then is the harness
 * loaded. The run is a parameter so tests can see the options a command line gives without starting a bench.
 */
import { Effect, Stdio } from "effect"
import { CliError, Command } from "effect/cli"
import { type BenchFlags, benchFlags } from "../bench/BenchFlags.ts"
import { type BenchOptions, redactArgs, resolveBenchOptions } from "../bench/BenchOptions.ts"
import { exitCode, type VerbFailed } from "./Verb.ts"

const settle = (flags: BenchFlags) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio.Stdio
    // The live progress line rewrites itself with carriage returns: only a terminal shows that well.
    const options = resolveBenchOptions(flags, yield* stdio.stderrIsTerminal)
    if (typeof options === "string") return yield* new CliError.ValidationError({ message: options })
    return options
  })

export const benchVerb = (run: (options: BenchOptions, commandLine: string) => Effect.Effect<void, VerbFailed>) =>
  Command.make("bench", benchFlags, (flags) =>
    Effect.gen(function* () {
      // Settled once already by the validation below, before the handler runs: this cannot fail.
      const options = yield* Effect.orDie(settle(flags))
      // Results record the command line, with the API key and database password hidden.
      const args = yield* (yield* Stdio.Stdio).args
      yield* run(options, ["candor", ...redactArgs(args)].join(" "))
    })
  ).pipe(
    Command.validate((flags) => Effect.asVoid(settle(flags))),
    Command.withShortDescription("load test with simulated candidates"),
    Command.withDescription(
      "Simulated candidates stream real single-face JPEGs to the engine over the candidate WebSocket protocol; " +
        "prints what it measured and writes it as JSON. CANDOR_BENCH_<FLAG> (e.g. CANDOR_BENCH_DURATION=30) sets any flag's default."
    ),
    Command.withExamples([
      { command: "candor bench --smoke", description: "check the harness in about 30 s" },
      { command: "candor bench --find-max --results bench", description: "most sessions within the latency budget" }
    ])
  )

export const bench = benchVerb((options, commandLine) =>
  exitCode(async () => (await import("../bench/BenchCommand.ts")).benchCommand(options, commandLine))
)
