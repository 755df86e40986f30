/**
 * The interview report recruiters read (`GET /v1/interviews/:id/report`), and a human review of it.
 *
 * A report is derived, never edited: it is rebuilt from the stored answers, sample scores, score windows, score
 * events, media index and reviews, and building it twice from the same rows gives the same report. It carries no
 * build time for that reason.
 */
import { Schema } from "effect"
import { Consent } from "./Consent.ts"
import { AnswerScore, ScorerKind } from "./AnswerScore.ts"
import { EmotionLabel, EmotionScores } from "./FrameAnalysis.ts"

/** Bumped whenever a report's shape or arithmetic changes, so cached reports of an older version are rebuilt. */
export const REPORT_VERSION = 3

const percent = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 100 }))
const unit = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/** The statement every report carries. */
export const humanDecisionNotice =
  "A person makes the hiring decision. Scores and signals in this report are aids for that person, not a decision; automated scores can be wrong, and affect signals (emotion, blinks) do not measure ability."

/** Signals a report can draw on. */
export const Signal = Schema.Literals(["answers", "attention", "emotion", "blinks"]).annotate({
  description:
    "`answers`: rubric scores of the answers; `attention`: share of video frames with the candidate's face; `emotion` and `blinks`: affect signals, present only when the tenant has them on."
})
export type Signal = typeof Signal.Type

export const ScoringStatus = Schema.Literals(["scored", "pending", "failed", "unanswered"]).annotate({
  description:
    "`scored`: the answer has its score; `pending`: scoring is queued or being retried; `failed`: scoring gave up (see `reason`); `unanswered`: no answer was given."
})
export type ScoringStatus = typeof ScoringStatus.Type

export const AnswerSource = Schema.Literals(["text", "audio"])

export const ReportAnswer = Schema.Struct({
  answerId: Schema.String,
  source: AnswerSource,
  text: Schema.String.annotate({ description: "The answer as given; for audio, its transcript." }),
  transcriptionModel: Schema.NullOr(Schema.String),
  submittedAt: Schema.String
}).annotate({ title: "ReportAnswer" })
export type ReportAnswer = typeof ReportAnswer.Type

export const AnswerScoring = Schema.Struct({
  status: ScoringStatus,
  attempts: Schema.Int,
  reason: Schema.NullOr(Schema.String).annotate({ description: "Why scoring failed, or why the last attempt did." })
}).annotate({ title: "AnswerScoring" })
export type AnswerScoring = typeof AnswerScoring.Type

/** Signals observed while one question was open, or in the video uploaded for it. */
export const QuestionSignals = Schema.Struct({
  seconds: Schema.Int.annotate({ description: "Seconds of video analysed while the question was open." }),
  facePresence: Schema.NullOr(unit),
  blinksPerMinute: Schema.NullOr(Schema.Number),
  emotion: Schema.NullOr(EmotionScores),
  dominant: Schema.NullOr(EmotionLabel),
  source: Schema.optionalKey(Schema.Literals(["live", "upload"])).annotate({
    description:
      "`live`: the interview's own video stream while the question was open; `upload`: the latest analysed video uploaded for the question (`POST /v1/interviews/{id}/video`), which is shown instead when there is one."
  }),
  frames: Schema.optionalKey(Schema.Int.annotate({ description: "Frames analysed (uploads)." })),
  multipleFaces: Schema.optionalKey(
    Schema.NullOr(unit).annotate({ description: "Share of analysed frames with more than one face (uploads)." })
  ),
  blinks: Schema.optionalKey(Schema.NullOr(Schema.Int).annotate({ description: "Blinks counted (uploads)." })),
  jobId: Schema.optionalKey(Schema.String.annotate({ description: "The analysis job of the uploaded video." }))
}).annotate({ title: "QuestionSignals" })
export type QuestionSignals = typeof QuestionSignals.Type

export const QuestionReport = Schema.Struct({
  questionId: Schema.String,
  index: Schema.Int,
  prompt: Schema.String,
  answer: Schema.NullOr(ReportAnswer),
  scoring: AnswerScoring,
  score: Schema.NullOr(AnswerScore).annotate({
    description: "Criterion scores with evidence and spread, the scorer used and its model, prompt and temperature."
  }),
  signals: Schema.NullOr(QuestionSignals)
}).annotate({ title: "QuestionReport" })
export type QuestionReport = typeof QuestionReport.Type

export const Attention = Schema.Struct({
  seconds: Schema.Int,
  frames: Schema.Int,
  facePresence: unit.annotate({ description: "Share of analysed frames with a face, 0–1." }),
  multipleFaces: Schema.NullOr(unit).annotate({ description: "Share of analysed frames with more than one face." })
}).annotate({ title: "Attention" })
export type Attention = typeof Attention.Type

export const AffectSummary = Schema.Struct({
  emotion: EmotionScores.annotate({ description: "Mean emotion distribution over frames with a face." }),
  dominant: EmotionLabel,
  blinks: Schema.Int,
  blinksPerMinute: Schema.NullOr(Schema.Number).annotate({
    description: "Blinks per minute of face time; null with less than 10 s of face time."
  })
}).annotate({ title: "AffectSummary" })
export type AffectSummary = typeof AffectSummary.Type

/** One second of the interview's video. */
export const TimelinePoint = Schema.Struct({
  second: Schema.Int,
  questionId: Schema.NullOr(Schema.String),
  frames: Schema.Int,
  facePresence: unit,
  blinks: Schema.NullOr(Schema.Int),
  emotion: Schema.NullOr(EmotionScores),
  dominant: Schema.NullOr(EmotionLabel)
}).annotate({ title: "TimelinePoint" })
export type TimelinePoint = typeof TimelinePoint.Type

export const Keyframe = Schema.Struct({
  key: Schema.String,
  kind: Schema.String,
  url: Schema.NullOr(Schema.String).annotate({ description: "API path of the image (same API key)." }),
  contentType: Schema.String,
  bytes: Schema.Int,
  createdAt: Schema.String,
  detail: Schema.Record(Schema.String, Schema.Unknown)
}).annotate({ title: "Keyframe" })
export type Keyframe = typeof Keyframe.Type

export const OverallComponent = Schema.Struct({
  signal: Signal,
  value: Schema.NullOr(percent).annotate({ description: "The signal on a 0–100 scale; null when not available." }),
  weight: Schema.Number.annotate({ description: "Configured weight." }),
  share: unit.annotate({ description: "Share of the overall score this component carries (weights renormalised)." }),
  basis: Schema.String.annotate({ description: "How the value is computed." })
}).annotate({ title: "OverallComponent" })
export type OverallComponent = typeof OverallComponent.Type

export const Overall = Schema.Struct({
  score: Schema.NullOr(percent).annotate({ description: "Weighted mean of the available components, 0–100." }),
  provisional: Schema.Boolean.annotate({
    description: "True while the interview is not finished or answers are still being scored."
  }),
  weightsSource: Schema.Literals(["tenant", "default"]),
  weights: Schema.Record(Schema.String, Schema.Number),
  components: Schema.Array(OverallComponent),
  notes: Schema.Array(Schema.String)
}).annotate({ title: "Overall" })
export type Overall = typeof Overall.Type

export const ScorerVersion = Schema.Struct({
  scorer: ScorerKind,
  label: Schema.String,
  model: Schema.String,
  promptVersion: Schema.String,
  temperature: Schema.Number
}).annotate({ title: "ScorerVersion" })

export const VisionModel = Schema.Struct({ name: Schema.String, file: Schema.String, sha256: Schema.String })

export const ModelVersions = Schema.Struct({
  scorers: Schema.Array(ScorerVersion),
  transcription: Schema.Array(Schema.String),
  vision: Schema.NullOr(
    Schema.Struct({
      source: Schema.String.annotate({ description: "Package the weights came from, with its version." }),
      converter: Schema.String,
      models: Schema.Array(VisionModel)
    })
  ).annotate({ description: "Face models that analysed the video (null when no video was analysed)." })
}).annotate({ title: "ModelVersions" })
export type ModelVersions = typeof ModelVersions.Type

export const Decision = Schema.Literals(["advance", "hold", "reject"])
export type Decision = typeof Decision.Type

export const Review = Schema.Struct({
  id: Schema.String,
  reviewer: Schema.String,
  rating: Schema.NullOr(Schema.Int),
  decision: Decision,
  notes: Schema.String,
  createdAt: Schema.String
}).annotate({ title: "Review" })
export type Review = typeof Review.Type

const reviewText = (field: string, max: number) =>
  Schema.String.check(
    Schema.makeFilter((s: string) => s.trim().length > 0 || `${field} must not be empty`, {
      toJsonSchema: () => ({ minLength: 1 })
    }),
    Schema.isMaxLength(max, { message: `${field} must be at most ${max} characters` })
  )

export const CreateReviewRequest = Schema.Struct({
  reviewer: reviewText("reviewer", 200).annotate({ description: "Who reviewed (name or email)." }),
  rating: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 }, { message: "rating must be an integer from 1 to 5" }))
  ),
  decision: Decision,
  notes: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(10_000, { message: "notes must be at most 10000 characters" }))
  )
}).annotate({ title: "CreateReviewRequest" })
export type CreateReviewRequest = typeof CreateReviewRequest.Type

export const ReviewList = Schema.Struct({ items: Schema.Array(Review) }).annotate({ title: "ReviewList" })

export const ScoringSummary = Schema.Struct({
  answered: Schema.Int,
  scored: Schema.Int,
  pending: Schema.Int,
  failed: Schema.Int,
  unanswered: Schema.Int
}).annotate({ title: "ScoringSummary" })

export const Report = Schema.Struct({
  reportVersion: Schema.Int,
  interviewId: Schema.String,
  candidate: Schema.Struct({ name: Schema.String, email: Schema.NullOr(Schema.String) }),
  status: Schema.Literals(["scheduled", "in_progress", "finished", "abandoned"]),
  affectSignals: Schema.Boolean,
  createdAt: Schema.String,
  startedAt: Schema.NullOr(Schema.String),
  finishedAt: Schema.NullOr(Schema.String),
  complete: Schema.Boolean.annotate({
    description: "True once the interview is finished and every answer's scoring has ended (scored or failed)."
  }),
  scoring: ScoringSummary,
  overall: Overall,
  signalsUsed: Schema.Array(Signal),
  affectNotUsed: Schema.NullOr(Schema.Literals(["off_for_interview", "candidate_declined"])).annotate({
    description:
      "Why affect signals (emotion, blinks) were not used, or null when they were: `off_for_interview`: the tenant or interview has them off; `candidate_declined`: the candidate's consent to affect analysis is not in force (refused, withdrawn, never given, or given on an older notice)."
  }),
  consents: Schema.Array(Consent).annotate({
    description: "The candidate's consent decisions with the notice version and time of each, oldest first."
  }),
  noticeVersion: Schema.String.annotate({
    description: "The tenant's current notice version: only decisions on it count."
  }),
  questions: Schema.Array(QuestionReport),
  attention: Schema.NullOr(Attention),
  affect: Schema.NullOr(AffectSummary).annotate({
    description: "Only when the interview had affect signals on and video was analysed."
  }),
  timeline: Schema.Array(TimelinePoint),
  keyframes: Schema.Array(Keyframe),
  models: ModelVersions,
  reviews: Schema.Array(Review),
  humanDecision: Schema.String
}).annotate({ title: "Report", description: "Everything recorded about an interview, for the people who decide." })
export type Report = typeof Report.Type

/** Answers accepted over HTTP. */
export const SubmitAnswerRequest = Schema.Struct({
  questionId: Schema.String.check(Schema.isMaxLength(64, { message: "questionId must be at most 64 characters" })),
  text: Schema.String.annotate({ description: "The answer, at most 20000 characters." })
}).annotate({ title: "SubmitAnswerRequest" })

export const SubmittedAnswer = Schema.Struct({
  answerId: Schema.String,
  questionId: Schema.String,
  source: AnswerSource,
  text: Schema.String,
  scoring: Schema.Literals(["queued"]),
  duplicate: Schema.Boolean.annotate({ description: "True when this exact answer had already been stored." })
}).annotate({ title: "SubmittedAnswer" })

export const AudioAnswerQuery = Schema.Struct({
  questionId: Schema.String.check(Schema.isMaxLength(64, { message: "questionId must be at most 64 characters" }))
}).annotate({ title: "AudioAnswerQuery" })

export const FinishedInterview = Schema.Struct({
  status: Schema.Literals(["finished"]),
  reportUrl: Schema.String
}).annotate({ title: "FinishedInterview" })
