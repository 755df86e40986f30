/**
 * `candor <verb>`: the process around the command line (src/cli/): parse, run, and exit with the verb's code.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { runCli } from "./cli/RunCli.ts"

const code = await Effect.runPromise(runCli(process.argv.slice(2)).pipe(Effect.provide(NodeServices.layer)))
process.exitCode = code
// Native handles (worker pools, sockets) must not keep a finished command alive; what is already queued on stdout
// and stderr is written first.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)))
