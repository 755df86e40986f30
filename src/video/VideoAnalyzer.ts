/**
 * Analyses one video file the way a live answer is analysed: its frames, taken at the analysis rate, go through
 * the inference pool and the session scorers (one question spanning the whole video), and come out as a
 * `VideoSummary`. The upload job and `candor analyze video.mp4` both run this.
 */
import { Effect, Schedule, Schema, Stream } from "effect"
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import type { VideoSecond, VideoSummary } from "../../schemas/VideoAnalysis.ts"
import { SessionConfig } from "../actors/SessionConfig.ts"
import type { AnalyzeError } from "../inference/InferenceErrors.ts"
import { InferencePool, type InferencePoolShape } from "../inference/InferencePool.ts"
import {
  type FfmpegError,
  type FfmpegNotFound,
  jpegFrames,
  probe,
  resolveFfmpeg,
  VideoUnreadable
} from "../media/Ffmpeg.ts"
import { emptyScorerState, type ScoreSink, SessionScorer } from "../pipeline/scorers/SessionScorer.ts"
import { dominantOf } from "../pipeline/scorers/EmotionStats.ts"
import type { ScoreWindowRow } from "../store/SessionWrites.ts"
import type { VideoSettings } from "./VideoSettings.ts"

/** The video is longer than the configured limit; nothing was analysed. */
export class VideoTooLong extends Schema.TaggedError<VideoTooLong>()("VideoTooLong", {
  seconds: Schema.Number,
  maxSeconds: Schema.Number,
  message: Schema.String
}) {}

export type VideoError = FfmpegNotFound | FfmpegError | VideoTooLong

export interface AnalyzeVideoOptions {
  readonly file: string
  /** Emotion and blinks measured (the tenant allows them and the candidate consented). */
  readonly affect: boolean
  /** Frames of one video share face tracking under this key (forgotten at the end). */
  readonly trackingKey: string
  readonly settings: VideoSettings
  /** Frames analysed so far (failed ones included) of those expected from the video's duration. */
  readonly onProgress: (done: number, expected: number) => Effect.Effect<void>
}

/** Where the summary's question lives inside the scorer; never shown. */
const questionKey = "video"

const round4 = (x: number) => Math.round(x * 10_000) / 10_000

/** One frame through the pool; a pool that is full for a moment (live sessions first) is waited for. */
const analyzeFrame = (
  pool: InferencePoolShape,
  trackingKey: string,
  seq: number,
  capturedAt: number,
  image: Uint8Array,
  affect: boolean
): Effect.Effect<FrameAnalysis | undefined> =>
  pool.analyze({ sessionKey: trackingKey, seq, capturedAt, image, affectEnabled: affect }).pipe(
    Effect.retry({
      while: (e: AnalyzeError) => e._tag === "PoolSaturated",
      schedule: Schedule.spaced("50 millis"),
      // About a minute; a pool full for longer than that gives the frame up like any failed frame.
      times: 1200
    }),
    // A frame the models could not take (undecodable, a worker that died on it) is left out, as in a live session.
    Effect.catch(() => Effect.succeed(undefined))
  )

/** Per-second rows of the scorer joined with its attention events (which carry the multiple-faces share). */
const timelineOf = (
  windows: ReadonlyArray<ScoreWindowRow>,
  events: ReadonlyArray<ScoreEvent>,
  affect: boolean
): Array<VideoSecond> => {
  const multiple = new Map<number, number>()
  for (const e of events) if (e._tag === "attention") multiple.set(e.second, e.multipleFaces)
  return windows.map((w) => ({
    second: w.second,
    frames: w.frames,
    facePresence: w.facePresence,
    multipleFaces: multiple.get(w.second) ?? 0,
    blinks: affect ? w.blinks : null,
    emotion: affect ? w.emotion : null,
    dominant: affect && w.emotion !== null ? dominantOf(w.emotion) : null
  }))
}

/** Analyses the video in `options.file`; see the module notes. */
export const analyzeVideo = (options: AnalyzeVideoOptions): Effect.Effect<VideoSummary, VideoError, InferencePool> =>
  Effect.gen(function* () {
    const { settings, affect } = options
    const pool = yield* InferencePool
    const session = yield* SessionConfig
    const ffmpeg = yield* resolveFfmpeg(settings.ffmpegPath)
    const info = yield* probe(ffmpeg, options.file)
    if (info.durationSeconds > settings.maxSeconds)
      return yield* new VideoTooLong({
        seconds: info.durationSeconds,
        maxSeconds: settings.maxSeconds,
        message: `the video is ${Math.round(info.durationSeconds)} s long; the limit is ${settings.maxSeconds} s`
      })
    const expected = Math.max(1, Math.round(info.durationSeconds * settings.fps))
    const frameMs = 1000 / settings.fps

    // Seconds count from the video's start, not from its first frame with a result.
    const scorer = new SessionScorer(affect, session.scorer, { ...emptyScorerState, t0: 0 })
    scorer.beginQuestion(questionKey, 0, 0)
    const events: Array<ScoreEvent> = []
    const windows: Array<ScoreWindowRow> = []
    let seq = 0
    const sink: ScoreSink = {
      interviewId: options.trackingKey,
      nextSeq: () => ++seq,
      event: (e) => events.push(e),
      window: (row) => windows.push(row)
    }
    let done = 0
    let failed = 0
    let lastAt = 0
    yield* jpegFrames(ffmpeg, options.file, {
      fps: settings.fps,
      maxSide: settings.maxSide,
      timeoutMs: settings.timeoutMs
    }).pipe(
      Stream.mapEffect((image, i) => analyzeFrame(pool, options.trackingKey, i, i * frameMs, image, affect), {
        concurrency: settings.concurrency
      }),
      Stream.runForEach((analysis) => {
        done++
        if (analysis === undefined) failed++
        else {
          lastAt = analysis.capturedAt
          // The scorer's wall clock is the video's own time: windows close as the video's seconds pass.
          scorer.frame(analysis, analysis.capturedAt, sink)
        }
        return options.onProgress(done, Math.max(expected, done))
      }),
      Effect.ensuring(pool.forget(options.trackingKey))
    )
    if (done === 0) return yield* new VideoUnreadable({ message: "not a readable video (no frame could be decoded)" })
    scorer.endQuestion(lastAt + frameMs, sink)
    const summary = events.find((e) => e._tag === "questionSummary")
    const attention = events.flatMap((e) => (e._tag === "attention" ? [e] : []))
    const attentionFrames = attention.reduce((n, e) => n + e.frames, 0)
    const frames = done - failed
    return {
      seconds: round4(info.durationSeconds),
      fps: settings.fps,
      frames,
      framesFailed: failed,
      affect,
      facePresence: summary?._tag === "questionSummary" ? summary.facePresence : null,
      multipleFaces:
        attentionFrames === 0
          ? null
          : round4(attention.reduce((n, e) => n + e.frames * e.multipleFaces, 0) / attentionFrames),
      emotion: summary?._tag === "questionSummary" ? summary.emotion : null,
      dominant: summary?._tag === "questionSummary" ? summary.dominant : null,
      volatility: summary?._tag === "questionSummary" ? summary.volatility : null,
      blinks: summary?._tag === "questionSummary" ? summary.blinks : null,
      blinksPerMinute: summary?._tag === "questionSummary" ? summary.blinksPerMinute : null,
      timeline: timelineOf(windows, events, affect)
    } satisfies VideoSummary
  }).pipe(Effect.withSpan("VideoAnalyzer.analyzeVideo"))
