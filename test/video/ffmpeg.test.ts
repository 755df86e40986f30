/** ffmpeg as a scoped child process: found, probed, streamed as whole JPEGs, stopped on interruption and deadline. */
import { execFileSync } from "node:child_process"
import { copyFile, readFile } from "node:fs/promises"
import * as Path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Stream } from "effect"
import { jpegFrames, probe, resolveFfmpeg } from "../../src/media/Ffmpeg.ts"
import { JpegSplitter } from "../../src/media/internal/jpegFrames.ts"
import { blankJpeg } from "../inference/fixtures.ts"
import { makeFaceVideo, tempDir } from "./support.ts"

const errorOf = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) throw new Error("it succeeded")
  const e = Cause.findErrorOption(exit.cause)
  if (e._tag === "None") throw new Error(Cause.pretty(exit.cause))
  return e.value as { _tag: string; message: string }
}

/** ffmpeg processes reading `file` (ours: the path is unique to this test). */
const ffmpegsOn = (file: string) => {
  try {
    return execFileSync("pgrep", ["-f", file], { encoding: "utf8" }).trim().split("\n").filter(Boolean).length
  } catch {
    return 0
  }
}

describe("ffmpeg", () => {
  let dir: string
  let video: string
  let ffmpeg: string

  beforeAll(async () => {
    dir = await tempDir()
    video = await makeFaceVideo(dir, { seconds: 4, blankSeconds: 1 })
    ffmpeg = await Effect.runPromise(resolveFfmpeg(process.env.FFMPEG_PATH || undefined))
  }, 60_000)

  it("names FFMPEG_PATH when the configured binary is not there", async () => {
    const e = errorOf(await Effect.runPromiseExit(resolveFfmpeg(Path.join(dir, "no-ffmpeg"))))
    expect(e._tag).toBe("FfmpegNotFound")
    expect(e.message).toContain("FFMPEG_PATH")
  })

  it("probes duration and frame size, and says why a file is no video", async () => {
    expect(await Effect.runPromise(probe(ffmpeg, video))).toEqual({
      durationSeconds: 4,
      width: 640,
      height: 480,
      codec: "h264"
    })
    const text = Path.join(dir, "notes.mp4")
    await copyFile(new URL(import.meta.url), text)
    const e = errorOf(await Effect.runPromiseExit(probe(ffmpeg, text)))
    expect(e._tag).toBe("VideoUnreadable")
    expect(e.message).toMatch(/^not a readable video \(ffmpeg: .*Invalid data found when processing input\)$/)
  })

  it("streams the frames at the asked rate as whole JPEGs", async () => {
    const frames = await Effect.runPromise(
      Stream.runCollect(jpegFrames(ffmpeg, video, { fps: 5, maxSide: 320, timeoutMs: 30_000 }))
    )
    expect(frames).toHaveLength(20)
    for (const f of frames) {
      expect([f[0], f[1]]).toEqual([0xff, 0xd8])
      expect([f.at(-2), f.at(-1)]).toEqual([0xff, 0xd9])
    }
    const sharp = (await import("sharp")).default
    expect(await sharp(frames[0]!).metadata()).toMatchObject({ width: 320, height: 240, format: "jpeg" })
  })

  it("kills ffmpeg when its consumer is interrupted or stops early, and at its deadline", async () => {
    const mine = Path.join(dir, "interrupted-clip.mp4")
    await copyFile(video, mine)
    const slow = jpegFrames(ffmpeg, mine, { fps: 25, maxSide: 640, timeoutMs: 30_000 }).pipe(
      Stream.tap(() => Effect.sleep("10 seconds"))
    )
    const fiber = Effect.runFork(Stream.runDrain(slow))
    for (let i = 0; i < 100 && ffmpegsOn(mine) === 0; i++) await new Promise((r) => setTimeout(r, 20))
    expect(ffmpegsOn(mine)).toBe(1)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(ffmpegsOn(mine)).toBe(0)

    const two = await Effect.runPromise(
      Stream.runCollect(Stream.take(jpegFrames(ffmpeg, mine, { fps: 5, maxSide: 320, timeoutMs: 30_000 }), 2))
    )
    expect(two).toHaveLength(2)
    expect(ffmpegsOn(mine)).toBe(0)

    const late = errorOf(
      await Effect.runPromiseExit(
        Stream.runDrain(
          jpegFrames(ffmpeg, mine, { fps: 25, maxSide: 640, timeoutMs: 300 }).pipe(
            Stream.tap(() => Effect.sleep("100 millis"))
          )
        )
      )
    )
    expect(late).toMatchObject({ _tag: "FfmpegTimedOut", timeoutMs: 300 })
    expect(ffmpegsOn(mine)).toBe(0)
  }, 30_000)
})

describe("JpegSplitter", () => {
  it("cuts concatenated JPEGs however the bytes arrive, skipping garbage between them", async () => {
    const images = [await blankJpeg(80, 60), await blankJpeg(64, 48), await blankJpeg(32, 32)]
    const stream = Buffer.concat([Buffer.from([1, 2, 0xff]), images[0]!, images[1]!, Buffer.from([0]), images[2]!])
    for (const size of [1, 2, 3, 7, 4096, stream.length]) {
      const splitter = new JpegSplitter()
      const out: Array<Uint8Array> = []
      for (let i = 0; i < stream.length; i += size) out.push(...splitter.push(stream.subarray(i, i + size)))
      expect(
        out.map((o, i) => Buffer.from(o).equals(images[i]!)),
        `chunks of ${size}`
      ).toEqual([true, true, true])
      expect(splitter.buffered).toBe(0)
    }
  })

  it("does not end an image at end-of-image bytes inside its tables", async () => {
    const jpeg = Buffer.from(await readFile(await writeTableJpeg()))
    const splitter = new JpegSplitter()
    const out = splitter.push(Buffer.concat([jpeg, jpeg]))
    expect(out.map((o) => o.length)).toEqual([jpeg.length, jpeg.length])
  })
})

/** A JPEG with an application segment holding the bytes FF D9 (as a table might), written to a file. */
const writeTableJpeg = async () => {
  const { writeFile } = await import("node:fs/promises")
  const base = await blankJpeg(32, 32)
  const segment = Buffer.from([0xff, 0xe1, 0x00, 0x06, 0xff, 0xd9, 0xff, 0xd9])
  const file = Path.join(await tempDir(), "table.jpg")
  await writeFile(file, Buffer.concat([base.subarray(0, 2), segment, base.subarray(2)]))
  return file
}
