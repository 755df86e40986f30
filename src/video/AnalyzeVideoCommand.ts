/**
 * `candor analyze video.mp4 [--json] [--no-affect]`: one video analysed locally by the same code as an uploaded
 * video's job (`analyzeVideo`), with a progress bar on stderr (redrawn on a terminal, a line per 10 % otherwise),
 * then a summary on stdout (or the summary as JSON).
 */
import { stat } from "node:fs/promises"
import { availableParallelism } from "node:os"
import { Cause, Effect } from "effect"
import type { VideoSummary } from "../../schemas/VideoAnalysis.ts"
import { loadSettings } from "../cli/Settings.ts"
import { layer as poolLayer } from "../inference/InferencePool.ts"
import { analyzeVideo } from "./VideoAnalyzer.ts"

export interface AnalyzeVideoArgs {
  readonly file: string
  readonly json: boolean
  readonly affect: boolean
}

/** Draws progress on `stream`: a bar redrawn in place on a terminal, else a line at each tenth. */
export const progressBar = (stream: NodeJS.WriteStream, label: string) => {
  const tty = stream.isTTY === true
  let lastTenth = -1
  let lastDraw = 0
  return {
    update: (done: number, expected: number) => {
      const fraction = Math.min(1, done / Math.max(1, expected))
      if (tty) {
        const now = Date.now()
        if (now - lastDraw < 100 && done < expected) return
        lastDraw = now
        const width = 30
        const full = Math.round(fraction * width)
        stream.write(
          `\r${label} [${"#".repeat(full)}${"-".repeat(width - full)}] ${String(Math.floor(fraction * 100)).padStart(3)} % ${done}/${expected} frames`
        )
        return
      }
      const tenth = Math.floor(fraction * 10)
      if (tenth > lastTenth) {
        lastTenth = tenth
        stream.write(`${label}: ${tenth * 10} % (${done}/${expected} frames)\n`)
      }
    },
    end: () => {
      if (tty) stream.write("\n")
    }
  }
}

const pct = (x: number | null) => (x === null ? "—" : `${(x * 100).toFixed(1)} %`)

/** The summary for people. */
export const renderSummary = (file: string, s: VideoSummary): string => {
  const lines = [
    `${file}  ${s.seconds.toFixed(1)} s  ${s.frames} frames analysed at ${s.fps} fps${s.framesFailed > 0 ? ` (${s.framesFailed} failed)` : ""}`,
    `  face present     ${pct(s.facePresence)}`,
    `  multiple faces   ${pct(s.multipleFaces)}`
  ]
  if (!s.affect) lines.push("  affect signals   off (no emotion or blinks)")
  else {
    lines.push(`  dominant         ${s.dominant ?? "—"}`)
    if (s.emotion !== null)
      lines.push(
        `  expressions      ${Object.entries(s.emotion)
          .map(([k, v]) => `${k} ${(v * 100).toFixed(1)} %`)
          .join(", ")}`
      )
    lines.push(
      `  blinks           ${s.blinks ?? "—"}${s.blinksPerMinute === null ? "" : ` (${s.blinksPerMinute.toFixed(1)} per minute)`}`
    )
  }
  return lines.join("\n")
}

/** Runs the verb; exit code 0, 1 when the video could not be analysed, 2 for an invalid setting. */
export const analyzeVideoCommand = async (args: AnalyzeVideoArgs): Promise<number> => {
  const settings = await loadSettings()
  if (settings === undefined) return 2
  const info = await stat(args.file).catch(() => undefined)
  if (info === undefined || !info.isFile()) {
    console.error(`candor analyze: ${args.file}: no such file`)
    return 1
  }
  const bar = progressBar(process.stderr, args.file)
  const workers = settings.inference.workers ?? availableParallelism()
  const program = analyzeVideo({
    file: args.file,
    affect: args.affect,
    trackingKey: `cli:${args.file}`,
    settings: settings.video,
    onProgress: (done, expected) => Effect.sync(() => bar.update(done, expected))
  }).pipe(Effect.provide(poolLayer({ ...settings.inference, workers })), Effect.ensuring(Effect.sync(bar.end)))
  const exit = await Effect.runPromiseExit(program)
  if (exit._tag === "Failure") {
    const error = Cause.findErrorOption(exit.cause)
    const message = error._tag === "Some" ? error.value.message : Cause.pretty(exit.cause)
    console.error(`candor analyze: ${args.file}: ${message}`)
    return 1
  }
  console.log(args.json ? JSON.stringify(exit.value, null, 2) : renderSummary(args.file, exit.value))
  return 0
}
