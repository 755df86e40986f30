/**
 * ffmpeg as a child process: finding the binary, probing a video (duration, size) and extracting its frames as
 * JPEGs at a given rate. Each run is a scoped resource: the child is killed when the scope closes early
 * (interruption, a consumer that stops reading) and when it runs past its deadline.
 *
 * The binary is `FFMPEG_PATH` when set, else the static build the `@ffmpeg-installer/linux-x64` package brings with
 * `npm ci`.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { createRequire } from "node:module"
import type { Readable } from "node:stream"
import { Effect, Schema, Stream } from "effect"
import { JpegSplitter } from "./internal/jpegFrames.ts"

/** No ffmpeg binary could be found or run. */
export class FfmpegNotFound extends Schema.TaggedError<FfmpegNotFound>()("FfmpegNotFound", {
  message: Schema.String
}) {}

/** The input is not a video ffmpeg can read: not a video at all, truncated, or corrupt. Retrying will not help. */
export class VideoUnreadable extends Schema.TaggedError<VideoUnreadable>()("VideoUnreadable", {
  message: Schema.String
}) {}

/** ffmpeg ran longer than its deadline and was killed. */
export class FfmpegTimedOut extends Schema.TaggedError<FfmpegTimedOut>()("FfmpegTimedOut", {
  timeoutMs: Schema.Number,
  message: Schema.String
}) {}

/** ffmpeg could not be started or was killed by someone else. */
export class FfmpegFailed extends Schema.TaggedError<FfmpegFailed>()("FfmpegFailed", {
  message: Schema.String
}) {}

export type FfmpegError = VideoUnreadable | FfmpegTimedOut | FfmpegFailed

const packageBinary = "@ffmpeg-installer/linux-x64/ffmpeg"

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The ffmpeg binary: `configured` (FFMPEG_PATH) when given, else the registry package's, resolved the way Node
 * resolves modules from here.
 */
export const resolveFfmpeg = (configured: string | undefined): Effect.Effect<string, FfmpegNotFound> =>
  Effect.suspend(() => {
    if (configured !== undefined) {
      return executable(configured)
        ? Effect.succeed(configured)
        : Effect.fail(new FfmpegNotFound({ message: `FFMPEG_PATH is ${configured}, which is not an executable file` }))
    }
    let resolved: string | undefined
    try {
      resolved = createRequire(import.meta.url).resolve(packageBinary)
    } catch {
      resolved = undefined
    }
    return resolved !== undefined && executable(resolved)
      ? Effect.succeed(resolved)
      : Effect.fail(
          new FfmpegNotFound({
            message: `ffmpeg not found: set FFMPEG_PATH to an ffmpeg binary, or install the optional dependency ${packageBinary.slice(0, -7)} (npm ci on Linux x64)`
          })
        )
  })

type Child = ChildProcessByStdio<null, Readable, Readable>

interface Run {
  readonly child: Child
  /** Resolves when the process has exited and its output streams are closed. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** The last few kilobytes of stderr. */
  readonly stderr: () => string
  readonly timedOut: () => boolean
}

const stderrLimit = 16 * 1024

/** Starts ffmpeg under the current scope: killed (SIGKILL) at `timeoutMs` or when the scope closes first. */
const start = (ffmpeg: string, args: ReadonlyArray<string>, timeoutMs: number) =>
  Effect.acquireRelease(
    Effect.try({
      try: (): Run => {
        const child = spawn(ffmpeg, ["-hide_banner", "-nostdin", ...args], { stdio: ["ignore", "pipe", "pipe"] })
        let err = ""
        child.stderr.setEncoding("utf8")
        child.stderr.on("data", (text: string) => {
          err = (err + text).slice(-stderrLimit)
        })
        let timedOut = false
        const timer = setTimeout(() => {
          timedOut = true
          child.kill("SIGKILL")
        }, timeoutMs)
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
          child.on("error", (error) => {
            err += `\n${error.message}`
            resolve({ code: null, signal: null })
          })
          child.on("close", (code, signal) => resolve({ code, signal }))
        }).finally(() => clearTimeout(timer))
        return { child, exited, stderr: () => err, timedOut: () => timedOut }
      },
      catch: (error) => new FfmpegFailed({ message: `ffmpeg could not be started: ${String(error)}` })
    }),
    (run) =>
      Effect.promise(async () => {
        if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL")
        await run.exited
      })
  )

/** ffmpeg's error lines without the `[demuxer @ 0x…]` and `<file>: ` prefixes, joined; empty when there are none. */
export const errorText = (stderr: string, file: string): string =>
  stderr
    .split("\n")
    .map((l) =>
      l
        .replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, "")
        .replace(`${file}: `, "")
        .trim()
    )
    .filter((l) => l.length > 0 && !/^At least one output file must be specified/.test(l))
    .filter((l, i, all) => all.indexOf(l) === i)
    .slice(-4)
    .join("; ")

/** How a finished run turned out, as a failure, or undefined when it went well. */
const outcome = (
  run: Run,
  status: { readonly code: number | null; readonly signal: NodeJS.Signals | null },
  file: string,
  timeoutMs: number,
  errorsFail: boolean
): FfmpegError | undefined => {
  if (run.timedOut())
    return new FfmpegTimedOut({ timeoutMs, message: `ffmpeg ran longer than ${timeoutMs / 1000} s and was stopped` })
  if (status.signal !== null) return new FfmpegFailed({ message: `ffmpeg was killed (${status.signal})` })
  const errors = errorText(run.stderr(), file)
  if (status.code === null) return new FfmpegFailed({ message: `ffmpeg failed: ${errors}` })
  if (status.code !== 0 || (errorsFail && errors.length > 0))
    return new VideoUnreadable({ message: `not a readable video (ffmpeg: ${errors || `exit code ${status.code}`})` })
  return undefined
}

export interface VideoProbe {
  /** Seconds, from the container or, where it has none (live-recorded WebM), from reading its packets. */
  readonly durationSeconds: number
  readonly width: number
  readonly height: number
  readonly codec: string
}

const clock = (h: string, m: string, s: string) => Number(h) * 3600 + Number(m) * 60 + Number(s)

/** Reads the container's header: duration, frame size and codec of the first video stream. */
export const probe = (ffmpeg: string, file: string, timeoutMs = 30_000): Effect.Effect<VideoProbe, FfmpegError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const run = yield* start(ffmpeg, ["-i", file], timeoutMs)
      const status = yield* Effect.promise(() => run.exited)
      const text = run.stderr()
      const video = /Stream #\d+:\d+.*?: Video: (\w+).*?, (\d{1,5})x(\d{1,5})/.exec(text)
      if (video === null) {
        // Without an output ffmpeg always exits 1; the failure is in what it said about the input.
        const failed = outcome(run, { ...status, code: status.code === 1 ? 0 : status.code }, file, timeoutMs, true)
        if (failed !== undefined) return yield* failed
        return yield* new VideoUnreadable({
          message: /Input #0/.test(text) ? "the file has no video stream" : "not a readable video"
        })
      }
      const duration = /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(text)
      const durationSeconds =
        duration === null
          ? yield* packetDuration(ffmpeg, file, timeoutMs)
          : clock(duration[1]!, duration[2]!, duration[3]!)
      return { durationSeconds, width: Number(video[2]), height: Number(video[3]), codec: video[1]! }
    })
  ).pipe(Effect.withSpan("Ffmpeg.probe"))

/** The duration of a video whose container does not say, by copying its packets to nowhere (no decoding). */
const packetDuration = (ffmpeg: string, file: string, timeoutMs: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const run = yield* start(ffmpeg, ["-i", file, "-map", "0:v:0", "-c", "copy", "-f", "null", "-"], timeoutMs)
      const status = yield* Effect.promise(() => run.exited)
      const failed = outcome(run, status, file, timeoutMs, false)
      if (failed !== undefined) return yield* failed
      const times = [...run.stderr().matchAll(/time=(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/g)]
      const last = times.at(-1)
      return last === undefined ? 0 : clock(last[1]!, last[2]!, last[3]!)
    })
  )

export interface ExtractOptions {
  /** Frames per second taken from the video (evenly spaced from its start). */
  readonly fps: number
  /** Frames are shrunk so that neither side exceeds this (aspect kept). */
  readonly maxSide: number
  /** The whole extraction, including the time its consumer takes, ends here. */
  readonly timeoutMs: number
}

/**
 * The video's frames at `fps` as JPEGs, in order, streamed from ffmpeg's stdout as the consumer pulls them (ffmpeg
 * waits while the consumer is busy). Ends with `VideoUnreadable` when ffmpeg reports the input truncated or corrupt,
 * even after some frames: a partial video is not analysed as if it were whole.
 */
export const jpegFrames = (
  ffmpeg: string,
  file: string,
  options: ExtractOptions
): Stream.Stream<Uint8Array, FfmpegError> => {
  const side = Math.max(16, Math.floor(options.maxSide))
  const args = [
    "-v",
    "error",
    "-threads",
    "1",
    "-i",
    file,
    "-map",
    "0:v:0",
    "-an",
    "-sn",
    "-vf",
    `fps=${options.fps},scale='if(gte(iw,ih),min(${side},iw),-2)':'if(gte(iw,ih),-2,min(${side},ih))'`,
    "-q:v",
    "3",
    "-f",
    "image2pipe",
    "-vcodec",
    "mjpeg",
    "-"
  ]
  return Stream.unwrap(
    Effect.map(start(ffmpeg, args, options.timeoutMs), (run) =>
      Stream.fromAsyncIterable(framesOf(run, file, options.timeoutMs), (error) =>
        error instanceof VideoUnreadable || error instanceof FfmpegTimedOut || error instanceof FfmpegFailed
          ? error
          : new FfmpegFailed({ message: `reading ffmpeg's output failed: ${String(error)}` })
      )
    )
  ).pipe(Stream.flattenIterable)
}

async function* framesOf(run: Run, file: string, timeoutMs: number): AsyncGenerator<ReadonlyArray<Uint8Array>> {
  const splitter = new JpegSplitter()
  for await (const chunk of run.child.stdout) {
    const images = splitter.push(chunk as Buffer)
    if (images.length > 0) yield images
  }
  const failed = outcome(run, await run.exited, file, timeoutMs, true)
  if (failed !== undefined) throw failed
}
