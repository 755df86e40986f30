/** Test recordings made at test time with the packaged ffmpeg: a test picture with a tone, or without sound. */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { ffmpegPath } from "../../src/recordings/RecordingMedia.ts"

/** A WebM (VP8 video, Opus sound unless `sound` is false) of `seconds` seconds. */
export const makeWebm = (options: { seconds?: number; sound?: boolean } = {}): Uint8Array => {
  const dir = mkdtempSync(join(tmpdir(), "candor-rec-"))
  try {
    const out = join(dir, "answer.webm")
    const seconds = String(options.seconds ?? 2)
    const sound = options.sound ?? true
    execFileSync(Effect.runSync(ffmpegPath), [
      ...["-hide_banner", "-loglevel", "error", "-nostdin", "-y"],
      ...["-f", "lavfi", "-i", "testsrc=size=320x240:rate=10"],
      ...(sound ? ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] : []),
      ...["-t", seconds, "-c:v", "libvpx", "-b:v", "200k"],
      ...(sound ? ["-c:a", "libopus"] : []),
      ...["-f", "webm", out]
    ])
    return new Uint8Array(readFileSync(out))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
