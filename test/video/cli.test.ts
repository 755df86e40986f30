/** `candor analyze video.mp4`: the upload job's analysis run locally, with its progress on stderr. */
import * as Path from "node:path"
import { afterEach, beforeAll, describe, expect, it, vi } from "@effect/vitest"
import type { VideoSummary } from "../../schemas/VideoAnalysis.ts"
import { cli } from "../support/Cli.ts"
import { makeFaceVideo, tempDir } from "./support.ts"

describe("candor analyze <video>", () => {
  let dir: string
  let video: string

  beforeAll(async () => {
    dir = await tempDir()
    video = await makeFaceVideo(dir, { seconds: 20, blankSeconds: 2 })
  }, 60_000)
  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** What the verb wrote to stderr directly (the progress), besides what `cli` captures. */
  const progressOf = () => {
    const lines: Array<string> = []
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: any) => {
      lines.push(String(chunk))
      return true
    })
    return lines
  }

  it("prints the same summary as the upload job as JSON, with a progress line per 10 % when not on a terminal", async () => {
    const progress = progressOf()
    const result = await cli(["analyze", video, "--json"])
    expect(result.code, result.stderr).toBe(0)
    const summary = JSON.parse(result.stdout) as VideoSummary
    expect(summary).toMatchObject({
      seconds: 20,
      fps: 5,
      frames: 100,
      framesFailed: 0,
      affect: true,
      facePresence: 0.9,
      multipleFaces: 0,
      dominant: "happy",
      blinks: 0
    })
    expect(summary.timeline).toHaveLength(20)
    expect(summary.timeline.at(-1)).toMatchObject({ second: 19, facePresence: 0 })
    const steps = progress.filter((l) => l.startsWith(`${video}: `))
    expect(steps.map((l) => /: (\d+) %/.exec(l)![1])).toEqual([
      "0",
      "10",
      "20",
      "30",
      "40",
      "50",
      "60",
      "70",
      "80",
      "90",
      "100"
    ])
  }, 120_000)

  it("prints a readable summary without affect signals, and fails a file that is not a video", async () => {
    progressOf()
    const plain = await cli(["analyze", video, "--no-affect"])
    expect(plain.code, plain.stderr).toBe(0)
    expect(plain.stdout).toContain("100 frames analysed at 5 fps")
    expect(plain.stdout).toMatch(/face present\s+90\.0 %/)
    expect(plain.stdout).toContain("affect signals   off")

    const notVideo = Path.join(dir, "notes.webm")
    await (await import("node:fs/promises")).writeFile(notVideo, "not a video at all\n")
    const bad = await cli(["analyze", notVideo, "--json"])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toBe("")
    expect(bad.stderr).toContain(`${notVideo}: not a readable video (ffmpeg: `)

    const mixed = await cli(["analyze", video, Path.join(dir, "x.jpg")])
    expect(mixed.code).toBe(2)
    expect(mixed.stderr).toContain("analyze one video at a time")
  }, 120_000)
})
