import { readdir, readFile, stat, writeFile } from "node:fs/promises"
import { availableParallelism } from "node:os"
import { extname, join } from "node:path"
import { Effect } from "effect"
import { EMOTIONS } from "../../schemas/Emotions.ts"
import type { Face, FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import { type FrameInput, InferencePool, layer } from "./InferencePool.ts"

const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".tif", ".tiff", ".heic"])

/** What `candor analyze` was asked for (parsed and checked by the command line). */
export interface AnalyzeArgs {
  /** Images, or directories whose images are analysed (not recursively). */
  readonly paths: ReadonlyArray<string>
  readonly json: boolean
  /** Write the first face's class-activation heat-map (top emotion) here as a PNG; needs `affect`. */
  readonly heatmap: string | undefined
  readonly affect: boolean
}

type ImageReport =
  | { readonly file: string; readonly analysis: FrameAnalysis }
  | { readonly file: string; readonly error: string }

/** Expands directories (not recursively) to the image files in them; missing paths become error reports. */
const expand = async (paths: ReadonlyArray<string>): Promise<Array<{ file: string; error?: string }>> => {
  const out: Array<{ file: string; error?: string }> = []
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined)
    if (info === undefined) out.push({ file: path, error: "no such file or directory" })
    else if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort()
      if (names.length === 0) out.push({ file: path, error: "directory holds no images" })
      for (const name of names) out.push({ file: join(path, name) })
    } else out.push({ file: path })
  }
  return out
}

const describe = (error: { readonly _tag: string; readonly message: string }): string => {
  switch (error._tag) {
    case "FrameRejected":
      return /pixel limit/i.test(error.message)
        ? `image too large (${error.message})`
        : `not an image (${error.message})`
    default:
      return `${error._tag}: ${error.message}`
  }
}

const analyzeAll = (
  files: ReadonlyArray<{ file: string; error?: string }>,
  args: AnalyzeArgs,
  workers: number
): Effect.Effect<Array<ImageReport>, unknown, InferencePool> =>
  Effect.gen(function* () {
    const pool = yield* InferencePool
    return yield* Effect.forEach(
      files,
      (entry, seq) =>
        Effect.gen(function* () {
          if (entry.error !== undefined) return { file: entry.file, error: entry.error }
          const image = yield* Effect.promise(() => readFile(entry.file).catch(() => undefined))
          if (image === undefined) return { file: entry.file, error: "cannot read file" }
          const frame: FrameInput = {
            seq,
            capturedAt: Date.now(),
            image,
            affectEnabled: args.affect,
            heatmap: args.heatmap !== undefined
          }
          return yield* pool.analyze(frame).pipe(
            Effect.map((analysis): ImageReport => ({ file: entry.file, analysis })),
            Effect.catch((error) => Effect.succeed<ImageReport>({ file: entry.file, error: describe(error) }))
          )
        }),
      // Enough in flight to keep every worker busy, never enough to fill the pool's queue.
      { concurrency: workers * 2 }
    )
  })

const fixed = (value: number, digits = 2) => value.toFixed(digits)

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === 1 || c === 5 || c === 6 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}

const faceRow = (face: Face, i: number): Array<string> => {
  const [x, y, w, h] = face.box.map((v) => Math.round(v))
  const emotions = EMOTIONS.map((label) => (face.emotion === null ? "-" : fixed(face.emotion[label])))
  const top =
    face.emotion === null
      ? "-"
      : EMOTIONS.reduce((best, label) => (face.emotion![label] > face.emotion![best] ? label : best), EMOTIONS[0])
  return [
    String(i + 1),
    `${x},${y} ${w}×${h}`,
    fixed(face.score),
    `${fixed(face.ear.left)}/${fixed(face.ear.right)}`,
    fixed(face.ear.mean),
    face.eyesClosed ? "closed" : "open",
    top,
    ...emotions
  ]
}

const render = (report: ImageReport): string => {
  if ("error" in report) return ""
  const { analysis: a } = report
  const head = `${report.file}  ${a.width}×${a.height}  ${a.faces.length} face${a.faces.length === 1 ? "" : "s"}  (${fixed(a.timings.totalMs, 1)} ms)`
  if (a.faces.length === 0) return head
  const header = ["#", "box x,y w×h", "score", "EAR l/r", "mean", "eyes", "top", ...EMOTIONS]
  const body = table([header, ...a.faces.map(faceRow)])
  return `${head}\n${body
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n")}`
}

const jsonReport = (report: ImageReport) => {
  if ("error" in report) return { file: report.file, error: report.error }
  const { heatmap: _heatmap, ...analysis } = report.analysis
  return { file: report.file, ...analysis }
}

/** `candor analyze`: faces, eye aspect ratio, eyes closed and emotions per image; exit code 0, or 1 if an image failed. */
export const analyzeCommand = async (args: AnalyzeArgs): Promise<number> => {
  const files = await expand(args.paths)
  const readable = files.filter((f) => f.error === undefined).length
  const workers = Math.max(1, Math.min(availableParallelism(), readable))
  const program = analyzeAll(files, args, workers).pipe(
    Effect.provide(layer({ workers, detectEvery: 1, maxDelayMs: 0 })),
    Effect.map((reports) => ({ reports, failure: undefined as string | undefined })),
    Effect.catch((error) => Effect.succeed({ reports: [] as Array<ImageReport>, failure: describe(error as never) }))
  )
  const { reports, failure } = await Effect.runPromise(program)
  if (failure !== undefined) {
    console.error(`candor analyze: ${failure}\n(run \`candor models\` if the models are missing)`)
    return 1
  }
  if (args.json) console.log(JSON.stringify(reports.map(jsonReport), null, 2))
  else {
    const analysed = reports.filter((r) => "analysis" in r)
    if (analysed.length > 0) console.log(analysed.map(render).join("\n\n"))
  }
  for (const r of reports) if ("error" in r) console.error(`candor analyze: ${r.file}: ${r.error}`)

  if (args.heatmap !== undefined) {
    const png = reports.flatMap((r) => ("analysis" in r && r.analysis.heatmap ? [r.analysis.heatmap] : []))[0]
    if (png === undefined) console.error("candor analyze: no face found for the heat-map")
    else {
      await writeFile(args.heatmap, png.png)
      if (!args.json) console.log(`heat-map (${png.emotion}) written to ${args.heatmap}`)
    }
  }
  return reports.some((r) => "error" in r) ? 1 : 0
}
