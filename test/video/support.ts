/**
 * Videos made at test time from face photos (never committed), the engine with its job runner, and a way to follow
 * a job over the API.
 */
import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { Effect, type Exit } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { resolveFfmpeg } from "../../src/media/Ffmpeg.ts"
import { videoAnalyzeHandler } from "../../src/video/VideoJob.ts"
import { blankJpeg, singleFaceJpeg } from "../inference/fixtures.ts"
import type { Client } from "../reports/support.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

const run = promisify(execFile)

/**
 * An H.264 MP4 of `seconds` at 5 fps from the single-face photo, with the face gone (a grey picture) for the last
 * `blankSeconds`. Written into `dir`; returns its path.
 */
export const makeFaceVideo = async (
  dir: string,
  options: {
    readonly seconds?: number
    readonly blankSeconds?: number
    readonly name?: string
    readonly faststart?: boolean
  } = {}
): Promise<string> => {
  const seconds = options.seconds ?? 20
  const blank = options.blankSeconds ?? 2
  const frames = await mkdtemp(Path.join(dir, "frames-"))
  const face = await singleFaceJpeg()
  const grey = await blankJpeg()
  for (let i = 0; i < seconds * 5; i++) {
    await writeFile(Path.join(frames, `${String(i).padStart(4, "0")}.jpg`), i >= (seconds - blank) * 5 ? grey : face)
  }
  const ffmpeg = await Effect.runPromise(resolveFfmpeg(process.env.FFMPEG_PATH || undefined))
  const out = Path.join(dir, options.name ?? "answer.mp4")
  await run(ffmpeg, [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-framerate",
    "5",
    "-i",
    Path.join(frames, "%04d.jpg"),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    ...(options.faststart === true ? ["-movflags", "+faststart"] : []),
    out
  ])
  await rm(frames, { recursive: true, force: true })
  return out
}

export interface VideoServer extends TestServer {
  /**
   * Runs a job once more through the `video.analyze` handler, in this test, as an engine that took it over after
   * the first was killed would; its exit.
   */
  readonly rerunJob: (id: string) => Promise<Exit.Exit<unknown, unknown>>
}

/** The engine with its job runner, polling for due jobs often. */
export const startVideoServer = async (env: Record<string, string>): Promise<VideoServer> => {
  const server = await startServer({ JOB_POLL_MS: "20", ...env })
  const rerunJob = (id: string) =>
    server.run(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [row] = yield* sql<{ payload: unknown; tenant_id: string; interview_id: string }>`
          SELECT payload, tenant_id, interview_id FROM jobs WHERE id = ${id}`
        return yield* Effect.exit(
          videoAnalyzeHandler.run({
            id,
            payload: typeof row!.payload === "string" ? JSON.parse(row!.payload) : row!.payload,
            attempt: 2,
            tenantId: row!.tenant_id,
            interviewId: row!.interview_id,
            progress: () => Effect.void
          })
        )
      })
    )
  return { ...server, rerunJob }
}

export interface JobStatus {
  readonly status: "queued" | "running" | "succeeded" | "failed"
  readonly progress: number
  readonly error?: string
  readonly attempts: number
  readonly result?: unknown
}

/** Polls `GET /v1/jobs/:id` until the job ends; every answer seen, in order. */
export const followJob = async (c: Client, jobId: string, timeoutMs = 60_000): Promise<Array<JobStatus>> => {
  const seen: Array<JobStatus> = []
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const r = await c.call(`/v1/jobs/${jobId}`)
    if (r.status !== 200) throw new Error(`GET /v1/jobs/${jobId}: ${r.status} ${await r.text()}`)
    const job = (await r.json()) as JobStatus
    seen.push(job)
    if (job.status === "succeeded" || job.status === "failed") return seen
    await new Promise((resolve) => setTimeout(resolve, 30))
  }
  throw new Error(`job ${jobId} did not end: ${JSON.stringify(seen.at(-1))}`)
}

export const readBytes = (path: string) => readFile(path)

export const tempDir = () => mkdtemp(Path.join(tmpdir(), "candor-video-test-"))
