/**
 * How a verb ends. The verbs call into Promise-based modules that return an exit code after saying what went wrong,
 * so a non-zero code only needs carrying to the process: `VerbFailed`, which RunCli turns back into the exit code.
 */
import { Data, Effect } from "effect"

export class VerbFailed extends Data.TaggedError("VerbFailed")<{ readonly code: number }> {}

/** Runs a verb that resolves to its exit code. */
export const exitCode = (run: () => Promise<number>): Effect.Effect<void, VerbFailed> =>
  Effect.flatMap(Effect.promise(run), (code) => (code === 0 ? Effect.void : Effect.fail(new VerbFailed({ code }))))
