/**
 * `candor <verb>`: the command line. Each verb is a small function returning an exit code; the engine itself is
 * composed in main.ts.
 */
import * as Operator from "./cli/Operator.ts"
import { serve } from "./cli/Serve.ts"
import { VERSION } from "./Version.ts"

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

const backup = (args: ReadonlyArray<string>) => {
  const outAt = args.indexOf("--out")
  const out = outAt >= 0 ? args[outAt + 1] : undefined
  if (outAt >= 0 && (out === undefined || out.startsWith("--"))) {
    console.error("candor backup: --out needs a file name")
    return Promise.resolve(2)
  }
  return Operator.backup({ out })
}

const verbs: Record<string, (args: ReadonlyArray<string>) => Promise<number>> = {
  serve,
  start: serve,
  migrate: Operator.migrate,
  seed: (args) => Operator.seed({ json: args.includes("--json") }),
  models: async (args) => (await import("./inference/ModelBuilder.ts")).modelsCommand(args),
  analyze: async (args) => (await import("./inference/Analyze.ts")).analyzeCommand(args),
  bench: async (args) => (await import("./bench/BenchCommand.ts")).benchCommand(args),
  backup,
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
