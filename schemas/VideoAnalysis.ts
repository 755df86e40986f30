/**
 * Uploaded-video analysis: the request's query, the accepted job, and the summary of one analysed video (stored
 * per job in `video_analyses`, printed by `candor analyze video.mp4 --json`, and the source of a question's
 * `upload` signals in the report).
 */
import { Schema } from "effect"
import { EmotionLabel, EmotionScores } from "./FrameAnalysis.ts"

const unit = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/** The video's types the upload route accepts. */
export const acceptedVideoTypes = ["video/mp4", "video/webm"] as const

export const VideoUploadQuery = Schema.Struct({
  questionId: Schema.String.check(Schema.isMaxLength(64, { message: "questionId must be at most 64 characters" }))
}).annotate({ title: "VideoUploadQuery" })

export const VideoAccepted = Schema.Struct({
  jobId: Schema.String.annotate({
    description: "The analysis job: `GET /v1/jobs/{jobId}` tells its status and progress."
  })
}).annotate({ title: "VideoAccepted" })

/** One second of an analysed video. */
export const VideoSecond = Schema.Struct({
  second: Schema.Int,
  frames: Schema.Int,
  facePresence: unit,
  multipleFaces: unit,
  blinks: Schema.NullOr(Schema.Int),
  emotion: Schema.NullOr(EmotionScores),
  dominant: Schema.NullOr(EmotionLabel)
}).annotate({ title: "VideoSecond" })
export type VideoSecond = typeof VideoSecond.Type

export const VideoSummary = Schema.Struct({
  seconds: Schema.Number.annotate({ description: "Length of the video." }),
  fps: Schema.Number.annotate({ description: "Frames per second taken from the video for analysis." }),
  frames: Schema.Int.annotate({ description: "Frames analysed." }),
  framesFailed: Schema.Int.annotate({ description: "Frames the face models could not analyse (left out)." }),
  affect: Schema.Boolean.annotate({
    description: "Whether emotion and blinks were measured (the tenant's policy and the candidate's consent)."
  }),
  facePresence: Schema.NullOr(unit).annotate({ description: "Share of analysed frames with a face." }),
  multipleFaces: Schema.NullOr(unit).annotate({ description: "Share of analysed frames with more than one face." }),
  emotion: Schema.NullOr(EmotionScores).annotate({ description: "Mean distribution over frames with a face." }),
  dominant: Schema.NullOr(EmotionLabel),
  volatility: Schema.NullOr(Schema.Number).annotate({
    description: "Mean frame-to-frame change of the emotion distribution (total variation, 0–1)."
  }),
  blinks: Schema.NullOr(Schema.Int),
  blinksPerMinute: Schema.NullOr(Schema.Number).annotate({
    description: "Blinks per minute of face time; null with less than 5 s of face time."
  }),
  timeline: Schema.Array(VideoSecond)
}).annotate({ title: "VideoSummary" })
export type VideoSummary = typeof VideoSummary.Type
