/**
 * `candor bench`: load-tests the engine with simulated candidates and prints what it measured. See
 * BenchFlags for the flags, BenchOptions for their defaults, and bench/RESULTS.md for the latest figures.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import type { BenchOptions } from "./BenchOptions.ts"
import { formatText } from "./BenchReport.ts"
import type { BenchResults } from "./BenchResults.ts"
import { runBench } from "./BenchRun.ts"
import { writeResults } from "./ResultsMarkdown.ts"

/** What a smoke run must show for the harness to count as working; speed is not judged. */
export const sanityProblems = (r: BenchResults): Array<string> => {
  const problems: Array<string> = []
  const b = r.modelBound
  if (!(b.framesPerSecond > 0 && Number.isFinite(b.framesPerSecond)))
    problems.push("model-only bound is not a positive number")
  for (const run of [r.load, r.saturate].filter((x) => x !== undefined)) {
    const s = run.stats
    if (s.analysed === 0) problems.push(`${run.name}: no frame was analysed`)
    if (s.analysed > 0 && (s.facesPerFrame < 0.8 || s.facesPerFrame > 1.2))
      problems.push(`${run.name}: ${s.facesPerFrame.toFixed(2)} faces per frame; every frame holds one face`)
    if (s.analysed > 0 && !(s.latencyMs.p50 > 0 && s.latencyMs.max < 60_000))
      problems.push(`${run.name}: latency p50 ${s.latencyMs.p50} ms, max ${s.latencyMs.max} ms`)
    if (s.sent > 0 && s.lost / s.sent > 0.5) problems.push(`${run.name}: ${s.lost} of ${s.sent} frames never answered`)
    if (run.engine.rssMBMax === undefined) problems.push(`${run.name}: the engine's /metrics gave no RSS`)
    if ((run.phaseEvents.question ?? 0) === 0) problems.push(`${run.name}: no candidate received a question`)
  }
  const server = r.efficiency?.throughServer
  if (server !== undefined && !(server.inProcessFramesPerSecond > 0 && Number.isFinite(server.efficiency)))
    problems.push("in-process pipeline: no frame was analysed")
  if (r.idle !== undefined && r.idle.opened !== r.idle.sockets)
    problems.push(`idle: ${r.idle.opened} of ${r.idle.sockets} sockets opened`)
  if (r.peer !== undefined) {
    for (const p of [r.peer.withoutReuse, r.peer.withReuse]) {
      if (!(p.ours.framesPerSecond > 0 && p.peer.framesPerSecond > 0)) problems.push("peer: a side analysed nothing")
      if (p.peer.facesPerFrame < 0.8)
        problems.push(`peer: ${p.peer.name} found ${p.peer.facesPerFrame.toFixed(2)} faces per frame`)
    }
  }
  return problems
}

/**
 * Runs the bench and writes its results; `command` is the command line as it may be written down (see redactArgs).
 * Exit code: 0, or 1 when the run failed or a smoke run found the harness broken.
 */
export const benchCommand = async (options: BenchOptions, command: string): Promise<number> => {
  const log = (line: string) => process.stderr.write(`${options.progress ? "\r\x1b[2K" : ""}bench: ${line}\n`)
  let results: BenchResults
  try {
    results = await runBench(options, command, log)
  } catch (error) {
    console.error(`candor bench: ${error instanceof Error ? error.message : String(error)}`)
    return 1
  }
  process.stdout.write(formatText(results))
  // Every run leaves its JSON: where --json says, else bench/out/last-run.json.
  const jsonFile = options.jsonFile ?? join("bench", "out", "last-run.json")
  await mkdir(dirname(jsonFile), { recursive: true })
  await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`)
  log(`wrote ${jsonFile}`)
  if (options.resultsDir !== undefined) {
    for (const file of await writeResults(options.resultsDir, results)) log(`wrote ${file}`)
  }
  if (options.smoke) {
    const problems = sanityProblems(results)
    if (problems.length > 0) {
      console.error(`candor bench --smoke: the harness is broken:\n${problems.map((p) => `  - ${p}`).join("\n")}`)
      return 1
    }
    log("smoke: harness works (numbers sane)")
  }
  return 0
}
