/**
 * The durable job `video.analyze`: an uploaded video (in the media store) analysed for one question of an
 * interview. It reads the video, runs `analyzeVideo` with the interview's affect signals as they stand (the
 * tenant's policy when the interview was made, and the candidate's consent now), reports progress by frames, and
 * at the end writes the question's summary in one transaction. Re-run from the start after a takeover, it replaces
 * its own row. A video ffmpeg cannot read fails the job for good, with ffmpeg's reason, and writes nothing.
 *
 * It never writes the interview's live events (`score_events`, `score_windows`): those belong to the session's
 * actor alone.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { Effect, Option, Schema } from "effect"
import type { VideoSummary } from "../../schemas/VideoAnalysis.ts"
import { SessionConsent } from "../actors/SessionConsent.ts"
import { JobFailed, type JobContext, type JobHandler } from "../jobs/Jobs.ts"
import { consentStanding } from "../store/Consents.ts"
import { Interviews } from "../store/Interviews.ts"
import { MediaStore } from "../store/MediaStore.ts"
import { VideoAnalyses } from "../store/VideoAnalyses.ts"
import { analyzeVideo, type VideoError } from "./VideoAnalyzer.ts"
import { VideoConfig } from "./VideoSettings.ts"

export const videoAnalyzeKind = "video.analyze"

export const VideoJobPayload = Schema.Struct({
  interviewId: Schema.String,
  questionId: Schema.String,
  /** `<interview id>/videos/<job id>.<mp4|webm>`. */
  mediaKey: Schema.String
})
export type VideoJobPayload = typeof VideoJobPayload.Type

/** What the job returns (its `result`): the headline numbers; the whole summary is in `video_analyses`. */
export interface VideoJobResult {
  readonly questionId: string
  readonly seconds: number
  readonly frames: number
  readonly facePresence: number | null
}

const decodePayload = Schema.decodeUnknownOption(VideoJobPayload)

const giveUp = (message: string) => new JobFailed({ message, retry: false })
const later = (message: string, retryInMs?: number) =>
  new JobFailed({ message, retry: true, ...(retryInMs === undefined ? {} : { retryInMs }) })

const videoFailure = (e: VideoError): JobFailed => {
  switch (e._tag) {
    case "VideoUnreadable":
    case "VideoTooLong":
      return giveUp(e.message)
    case "FfmpegTimedOut":
      return giveUp(`the analysis took too long: ${e.message} (VIDEO_TIMEOUT_SECONDS)`)
    case "FfmpegNotFound":
      return later(e.message, 60_000)
    case "FfmpegFailed":
      return later(e.message)
  }
}

/** The video's bytes in a private temporary file for ffmpeg (an MP4 may need seeking), removed with the scope. */
const tempCopy = (bytes: Uint8Array, name: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const dir = await mkdtemp(Path.join(tmpdir(), "candor-video-"))
        const file = Path.join(dir, name)
        await writeFile(file, bytes, { mode: 0o600 })
        return { dir, file }
      },
      catch: (error) => later(`cannot write the video to a temporary file: ${String(error)}`)
    }),
    ({ dir }) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

const run = (job: JobContext<unknown>) =>
  Effect.gen(function* () {
    const payload = decodePayload(job.payload)
    if (Option.isNone(payload)) return yield* giveUp("the job's payload is not a video analysis request")
    const { interviewId, questionId, mediaKey } = payload.value
    const tenantId = job.tenantId
    if (tenantId === null) return yield* giveUp("the job names no tenant")
    const dbDown = () => later("database unavailable")

    const interview = yield* Effect.flatMap(Interviews, (repo) => repo.get(tenantId, interviewId)).pipe(
      Effect.mapError(dbDown)
    )
    if (Option.isNone(interview)) return yield* giveUp("the interview no longer exists (erased)")
    if (!interview.value.questions.some((q) => q.id === questionId))
      return yield* giveUp(`the interview has no question ${questionId}`)
    const consent = new SessionConsent(yield* consentStanding(tenantId, interviewId).pipe(Effect.mapError(dbDown)))
    const affect = interview.value.affectSignals && consent.counts("affect_analysis")

    const stored = yield* Effect.flatMap(MediaStore, (media) => media.get(mediaKey)).pipe(
      Effect.mapError((e) => later(`media store unavailable: ${e.message}`))
    )
    if (Option.isNone(stored)) return yield* giveUp("the uploaded video is no longer in the media store (erased)")

    const settings = yield* VideoConfig
    const summary: VideoSummary = yield* Effect.scoped(
      Effect.gen(function* () {
        const { file } = yield* tempCopy(stored.value.bytes, Path.posix.basename(mediaKey))
        return yield* analyzeVideo({
          file,
          affect,
          trackingKey: `video:${job.id}`,
          settings,
          // The last hundredth is the write.
          onProgress: (done, expected) => job.progress(Math.min(0.99, done / expected))
        }).pipe(Effect.mapError(videoFailure))
      })
    )

    const saved = yield* Effect.flatMap(VideoAnalyses, (store) =>
      store.save({ jobId: job.id, tenantId, interviewId, questionId, mediaKey, summary })
    ).pipe(Effect.mapError(dbDown))
    if (!saved) return yield* giveUp("the interview was erased while its video was analysed")
    yield* job.progress(1)
    return {
      questionId,
      seconds: summary.seconds,
      frames: summary.frames,
      facePresence: summary.facePresence
    } satisfies VideoJobResult
  }).pipe(Effect.withSpan("VideoJob.run", { attributes: { jobId: job.id } }))

/** The `video.analyze` handler, for the engine's job runner. */
export const videoAnalyzeHandler = {
  kind: videoAnalyzeKind,
  run,
  // Renewed every third of it while frames are analysed.
  leaseMs: 60_000
} satisfies JobHandler<unknown, unknown>
