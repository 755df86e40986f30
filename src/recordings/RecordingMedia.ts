/**
 * ffmpeg on recorded answers: a browser's WebM recording is rewritten (streams copied, nothing re-encoded) so that
 * it carries its duration and a seek index, which MediaRecorder leaves out and a player needs to seek; and its sound
 * is taken as Opus in WebM (`audio/webm`) for the transcriber. ffmpeg is `FFMPEG_PATH`, else the binary of the
 * `@ffmpeg-installer/linux-x64` package installed with Candor. Files go through a temporary directory because an
 * MP4's index may sit at its end and a seek index is written last.
 */
import { Effect, Schema } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { resolveFfmpeg } from "../media/Ffmpeg.ts"
import { VideoConfig } from "../video/VideoSettings.ts"

export class RecordingMediaError extends Schema.TaggedError<RecordingMediaError>()("RecordingMediaError", {
  message: Schema.String
}) {}

/** The ffmpeg to run: the one uploaded videos use (`FFMPEG_PATH`, else the packaged binary), or a clear failure. */
export const ffmpegPath: Effect.Effect<string, RecordingMediaError> = Effect.gen(function* () {
  const settings = yield* VideoConfig
  return yield* resolveFfmpeg(settings.ffmpegPath)
}).pipe(Effect.mapError((e) => new RecordingMediaError({ message: e.message })))

const run = (binary: string, args: ReadonlyArray<string>) =>
  Effect.callback<void, RecordingMediaError>((resume) => {
    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000)
    })
    child.on("error", (e) =>
      resume(Effect.fail(new RecordingMediaError({ message: `ffmpeg did not start: ${e.message}` })))
    )
    child.on("close", (code) => {
      if (code === 0) return resume(Effect.void)
      const noSound = /does not contain any stream|matches no streams/u.test(stderr)
      resume(
        Effect.fail(
          new RecordingMediaError({
            message: noSound
              ? "the recording has no sound"
              : `ffmpeg could not read the recording (exit ${code}): ${stderr.trim().split("\n").at(-1) ?? ""}`
          })
        )
      )
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Runs ffmpeg from `input` (a temporary file) to a temporary output with `args` between them; the output's bytes. */
const transform = (
  input: Uint8Array,
  args: ReadonlyArray<string>,
  span: string
): Effect.Effect<Uint8Array, RecordingMediaError> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => Fs.mkdtemp(Path.join(Os.tmpdir(), "candor-recording-")),
      catch: (e) => new RecordingMediaError({ message: `no temporary directory: ${String(e)}` })
    }),
    (dir) =>
      Effect.gen(function* () {
        const binary = yield* ffmpegPath
        const source = Path.join(dir, "input")
        const target = Path.join(dir, "output.webm")
        yield* Effect.tryPromise({
          try: () => Fs.writeFile(source, input),
          catch: (e) => new RecordingMediaError({ message: `cannot write the recording: ${String(e)}` })
        })
        yield* run(binary, ["-hide_banner", "-nostdin", "-loglevel", "error", "-i", source, ...args, target])
        const output = yield* Effect.tryPromise({
          try: () => Fs.readFile(target),
          catch: (e) => new RecordingMediaError({ message: `ffmpeg wrote nothing: ${String(e)}` })
        })
        return new Uint8Array(output.buffer, output.byteOffset, output.byteLength)
      }),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.withSpan(span, { attributes: { bytes: input.byteLength } }))

/** The audio of `recording` (WebM or MP4 with sound) as Opus in WebM. */
export const extractAudio = (recording: Uint8Array): Effect.Effect<Uint8Array, RecordingMediaError> =>
  transform(
    recording,
    ["-map", "0:a:0", "-vn", "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-f", "webm"],
    "RecordingMedia.extractAudio"
  )

/** The WebM `recording` with its duration and seek index written (streams copied as they are). */
export const indexWebm = (recording: Uint8Array): Effect.Effect<Uint8Array, RecordingMediaError> =>
  transform(recording, ["-map", "0", "-c", "copy", "-f", "webm"], "RecordingMedia.indexWebm")
