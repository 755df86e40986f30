/**
 * What the live pipeline says about an interview as it happens: per-second signal windows, blinks, per-question
 * summaries and lifecycle steps. Each event carries its interview, a per-interview sequence number (gap-free
 * while the interview runs on one node, strictly increasing always) and a time in ms since the epoch: the
 * frame's capture time for signals, the server's clock for lifecycle steps.
 *
 * Emotion and blink events are affect signals: they are never produced for an interview whose tenant has
 * affect signals off (and `questionSummary` then carries nulls in their place).
 */
import { Schema } from "effect"
import { EmotionLabel, EmotionScores } from "./FrameAnalysis.ts"

const base = {
  interviewId: Schema.String,
  seq: Schema.Int,
  at: Schema.Number.annotate({ description: "ms since the epoch" })
}

/** Face presence over one second of capture time (seconds count from the interview's first analysed frame). */
export const Attention = Schema.TaggedStruct("attention", {
  ...base,
  second: Schema.Int,
  questionId: Schema.NullOr(Schema.String),
  frames: Schema.Int,
  /** Share of the second's frames with a face, 0…1. */
  facePresence: Schema.Number,
  /** Share of the second's frames with more than one face, 0…1. */
  multipleFaces: Schema.Number
})
export type Attention = typeof Attention.Type

/** Mean emotion distribution of one second's frames with a face, and how much it moved frame to frame. */
export const Emotion = Schema.TaggedStruct("emotion", {
  ...base,
  second: Schema.Int,
  questionId: Schema.NullOr(Schema.String),
  frames: Schema.Int,
  distribution: EmotionScores,
  dominant: EmotionLabel,
  /** Mean total-variation distance between consecutive frames' distributions, 0…1. */
  volatility: Schema.Number
})
export type Emotion = typeof Emotion.Type

/** One blink: eye aspect ratio fell below the closing threshold and rose above the opening one in time. */
export const Blink = Schema.TaggedStruct("blink", {
  ...base,
  questionId: Schema.NullOr(Schema.String),
  durationMs: Schema.Number,
  /** Blinks so far in the interview. */
  total: Schema.Int,
  /** Blinks over the trailing minute (scaled while less than a minute was observed); null before 10 s. */
  perMinute: Schema.NullOr(Schema.Number)
})
export type Blink = typeof Blink.Type

/** Signals of one question, emitted when the candidate moves on or finishes. */
export const QuestionSummary = Schema.TaggedStruct("questionSummary", {
  ...base,
  questionId: Schema.String,
  index: Schema.Int,
  /** Wall-clock time the question was open. */
  durationMs: Schema.Number,
  frames: Schema.Int,
  facePresence: Schema.NullOr(Schema.Number),
  blinks: Schema.NullOr(Schema.Int),
  blinksPerMinute: Schema.NullOr(Schema.Number),
  emotion: Schema.NullOr(EmotionScores),
  dominant: Schema.NullOr(EmotionLabel),
  volatility: Schema.NullOr(Schema.Number)
})
export type QuestionSummary = typeof QuestionSummary.Type

export const InterviewStarted = Schema.TaggedStruct("interviewStarted", { ...base, questionCount: Schema.Int })
export type InterviewStarted = typeof InterviewStarted.Type

export const QuestionStarted = Schema.TaggedStruct("questionStarted", {
  ...base,
  questionId: Schema.String,
  index: Schema.Int
})
export type QuestionStarted = typeof QuestionStarted.Type

export const AnswerRecorded = Schema.TaggedStruct("answerRecorded", {
  ...base,
  questionId: Schema.String,
  answerId: Schema.String,
  chars: Schema.Int
})
export type AnswerRecorded = typeof AnswerRecorded.Type

export const InterviewFinished = Schema.TaggedStruct("interviewFinished", {
  ...base,
  answered: Schema.Int,
  questionCount: Schema.Int
})
export type InterviewFinished = typeof InterviewFinished.Type

export const ScoreEvent = Schema.Union([
  Attention,
  Emotion,
  Blink,
  QuestionSummary,
  InterviewStarted,
  QuestionStarted,
  AnswerRecorded,
  InterviewFinished
])
export type ScoreEvent = typeof ScoreEvent.Type
