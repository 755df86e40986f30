/**
 * Videos made at test time from face photos (never committed), and an engine whose job queue is a recorder: the
 * test runs the queued `video.analyze` job itself through its handler.
 */
import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { Effect, type Exit, Layer } from "effect"
import { AppConfig } from "../../src/config.ts"
import { type EnqueueOptions, Jobs, type JobView } from "../../src/jobs/Jobs.ts"
import { serverLayer } from "../../src/main.ts"
import { resolveFfmpeg } from "../../src/media/Ffmpeg.ts"
import { videoAnalyzeHandler } from "../../src/video/VideoJob.ts"
import { blankJpeg, singleFaceJpeg } from "../inference/fixtures.ts"
import { startLayer, type TestServer } from "../support/TestServer.ts"

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

export interface QueuedJob {
  readonly id: string
  readonly kind: string
  readonly payload: unknown
  readonly options: EnqueueOptions
  progress: Array<number>
}

/** A `Jobs` that only records what is queued (no runner): the test runs each job through its handler. */
export const recordingJobs = () => {
  const jobs = new Map<string, QueuedJob>()
  const byKey = new Map<string, string>()
  const view = (job: QueuedJob): JobView => ({
    id: job.id,
    kind: job.kind,
    status: "queued",
    progress: job.progress.at(-1) ?? 0,
    error: null,
    attempts: 0,
    tenantId: job.options.tenantId ?? null,
    interviewId: job.options.interviewId ?? null,
    result: null,
    createdAt: new Date(0).toISOString(),
    updatedAt: new Date(0).toISOString(),
    finishedAt: null
  })
  const layer = Layer.succeed(Jobs, {
    enqueue: (kind, payload, options = {}) =>
      Effect.sync(() => {
        const known = options.key === undefined ? undefined : byKey.get(options.key)
        if (known !== undefined) return { id: known, created: false }
        const id = crypto.randomUUID()
        jobs.set(id, { id, kind, payload, options, progress: [] })
        if (options.key !== undefined) byKey.set(options.key, id)
        return { id, created: true }
      }),
    get: (id) => Effect.sync(() => (jobs.has(id) ? view(jobs.get(id)!) : undefined))
  })
  return { jobs, layer }
}

export interface VideoServer extends TestServer {
  readonly jobs: Map<string, QueuedJob>
  /** Runs a queued job through the `video.analyze` handler, recording its progress; its exit. */
  readonly runJob: (id: string, attempt?: number) => Promise<Exit.Exit<unknown, unknown>>
}

export const startVideoServer = async (env: Record<string, string>): Promise<VideoServer> => {
  const recorder = recordingJobs()
  const server = await startLayer(
    serverLayer({ port: 0, host: "127.0.0.1" }).pipe(
      Layer.provideMerge(recorder.layer),
      Layer.provideMerge(AppConfig.layerFromRecord({ CANDOR_DATA_DIR: ".tmp/test-data", ...env }))
    ),
    "Video tenant"
  )
  const runJob = (id: string, attempt = 1) => {
    const job = recorder.jobs.get(id)
    if (job === undefined) throw new Error(`no job ${id}`)
    return server.run(
      Effect.exit(
        videoAnalyzeHandler.run({
          id,
          payload: job.payload,
          attempt,
          tenantId: job.options.tenantId ?? null,
          interviewId: job.options.interviewId ?? null,
          progress: (fraction) => Effect.sync(() => void job.progress.push(fraction))
        })
      )
    )
  }
  return { ...server, jobs: recorder.jobs, runJob }
}

export const readBytes = (path: string) => readFile(path)

export const tempDir = () => mkdtemp(Path.join(tmpdir(), "candor-video-test-"))
