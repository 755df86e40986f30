/**
 * The sound of a recorded answer as an audio file the transcriber takes: ffmpeg drops the video and writes the
 * audio as Opus in WebM (`audio/webm`). ffmpeg is `FFMPEG_PATH`, else the binary of the `@ffmpeg-installer/linux-x64`
 * package installed with Candor. The input goes through a temporary file because an MP4's index may sit at its end.
 */
import { Config, Effect, Option, Schema } from "effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"

export class AudioTrackError extends Schema.TaggedError<AudioTrackError>()("AudioTrackError", {
  message: Schema.String
}) {}

/** The packaged binary, or undefined where the optional package is not installed. */
const packagedFfmpeg = (): string | undefined => {
  try {
    const manifest = createRequire(import.meta.url).resolve("@ffmpeg-installer/linux-x64/package.json")
    const binary = Path.join(Path.dirname(manifest), "ffmpeg")
    return existsSync(binary) ? binary : undefined
  } catch {
    return undefined
  }
}

/** The ffmpeg to run: `FFMPEG_PATH`, else the packaged one; fails with a clear message when there is none. */
export const ffmpegPath: Effect.Effect<string, AudioTrackError> = Config.option(Config.String("FFMPEG_PATH")).pipe(
  Effect.orElseSucceed(() => Option.none<string>()),
  Effect.flatMap((configured) => {
    const found = Option.getOrUndefined(Option.filter(configured, (p) => p.trim() !== "")) ?? packagedFfmpeg()
    return found === undefined
      ? Effect.fail(
          new AudioTrackError({
            message: "ffmpeg not found: install the optional @ffmpeg-installer/linux-x64 package or set FFMPEG_PATH"
          })
        )
      : Effect.succeed(found)
  })
)

const run = (binary: string, args: ReadonlyArray<string>) =>
  Effect.callback<void, AudioTrackError>((resume) => {
    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000)
    })
    child.on("error", (e) =>
      resume(Effect.fail(new AudioTrackError({ message: `ffmpeg did not start: ${e.message}` })))
    )
    child.on("close", (code) => {
      if (code === 0) return resume(Effect.void)
      const noSound = /does not contain any stream|matches no streams/u.test(stderr)
      resume(
        Effect.fail(
          new AudioTrackError({
            message: noSound
              ? "the recording has no sound"
              : `ffmpeg could not read the recording (exit ${code}): ${stderr.trim().split("\n").at(-1) ?? ""}`
          })
        )
      )
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** The audio of `recording` (WebM or MP4 with sound) as Opus in WebM. */
export const extractAudio = (recording: Uint8Array): Effect.Effect<Uint8Array, AudioTrackError> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => Fs.mkdtemp(Path.join(Os.tmpdir(), "candor-audio-")),
      catch: (e) => new AudioTrackError({ message: `no temporary directory: ${String(e)}` })
    }),
    (dir) =>
      Effect.gen(function* () {
        const binary = yield* ffmpegPath
        const input = Path.join(dir, "recording")
        const output = Path.join(dir, "audio.webm")
        yield* Effect.tryPromise({
          try: () => Fs.writeFile(input, recording),
          catch: (e) => new AudioTrackError({ message: `cannot write the recording: ${String(e)}` })
        })
        yield* run(binary, [
          "-hide_banner",
          "-nostdin",
          "-loglevel",
          "error",
          "-i",
          input,
          "-map",
          "0:a:0",
          "-vn",
          "-ac",
          "1",
          "-c:a",
          "libopus",
          "-b:a",
          "32k",
          "-f",
          "webm",
          output
        ])
        const audio = yield* Effect.tryPromise({
          try: () => Fs.readFile(output),
          catch: (e) => new AudioTrackError({ message: `ffmpeg wrote no audio: ${String(e)}` })
        })
        return new Uint8Array(audio)
      }),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.withSpan("AudioTrack.extract", { attributes: { bytes: recording.byteLength } }))
