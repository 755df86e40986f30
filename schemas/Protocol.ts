/**
 * The candidate and recruiter WebSocket protocols (version 1).
 *
 * Candidate → server: binary video frames (header below) and JSON text control messages. Server → candidate:
 * JSON text messages. Every binary frame gets exactly one reply, `analysis` or an `error` carrying its `seq`,
 * unless the client is not reading (then analyses are dropped, never control replies). Control messages are
 * answered in the order they were sent; `answerSaved`, `question` and `finished` are sent only once the
 * change is committed to the database. Frames sent before `start` are analysed and answered (a camera check
 * before the first question) but not scored or kept.
 *
 * Recruiter live view: first a `live` message (the interview's current live state), then every `ScoreEvent`
 * as it happens, as its own JSON text message.
 */
import { Schema } from "effect"
import { EmotionScores } from "./FrameAnalysis.ts"
import { ScoreEvent } from "./ScoreEvent.ts"

/** Binary frame: byte 0 protocol version, byte 1 kind, bytes 2–5 uint32 seq, 6–13 float64 capture time (ms), 14… JPEG. */
export const PROTOCOL_VERSION = 1
export const FRAME_KIND_JPEG = 1
export const FRAME_HEADER_BYTES = 14

export const MAX_ANSWER_CHARS = 20_000

// Client → server

export const Start = Schema.TaggedStruct("start", {})
export const Answer = Schema.TaggedStruct("answer", {
  questionId: Schema.String.check(Schema.isMaxLength(64)),
  text: Schema.String.check(
    Schema.makeFilter((s: string) => s.trim().length > 0 || "text must not be empty"),
    Schema.isMaxLength(MAX_ANSWER_CHARS, { message: `text must be at most ${MAX_ANSWER_CHARS} characters` })
  )
})
/**
 * Moves to the next question. With `fromQuestionId`, only if that is still the current question: a client that
 * re-sends `next` after a reconnect cannot skip a question by accident.
 */
export const Next = Schema.TaggedStruct("next", { fromQuestionId: Schema.optionalKey(Schema.String) })
export const Finish = Schema.TaggedStruct("finish", {})
export const Ping = Schema.TaggedStruct("ping", { t: Schema.Finite })

export const ClientMessage = Schema.Union([Start, Answer, Next, Finish, Ping])
export type ClientMessage = typeof ClientMessage.Type
/** Messages that change the interview (everything but `ping`). */
export type SessionCommand = Exclude<ClientMessage, { readonly _tag: "ping" }>

// Server → candidate

export const SessionStatus = Schema.Literals(["waiting", "question", "finished"])
export type SessionStatus = typeof SessionStatus.Type

export const QuestionMessage = Schema.TaggedStruct("question", {
  questionId: Schema.String,
  index: Schema.Int,
  prompt: Schema.String,
  count: Schema.Int
})
export type QuestionMessage = typeof QuestionMessage.Type

/** Sent when a socket opens (and after an internal restart): where the interview stands. */
export const SessionMessage = Schema.TaggedStruct("session", {
  interviewId: Schema.String,
  status: SessionStatus,
  question: Schema.NullOr(QuestionMessage),
  answered: Schema.Array(Schema.String),
  questionCount: Schema.Int,
  /** Affect signals in force: the interview has them on and the candidate consented to affect analysis. */
  affectSignals: Schema.Boolean,
  /**
   * True while no consent to data processing on the tenant's current notice is recorded: frames are refused
   * (`consent_required`) until the candidate records one (`POST /v1/interviews/:id/consents`).
   */
  consentRequired: Schema.Boolean,
  maxFps: Schema.Number,
  /** Highest frame seq analysed so far (-1: none); a resuming client continues after it. */
  lastSeq: Schema.Number,
  resumed: Schema.Boolean
})
export type SessionMessage = typeof SessionMessage.Type

export const AnswerSaved = Schema.TaggedStruct("answerSaved", { questionId: Schema.String, answerId: Schema.String })
export type AnswerSaved = typeof AnswerSaved.Type

export const AnalysisFace = Schema.Struct({
  box: Schema.Tuple([Schema.Number, Schema.Number, Schema.Number, Schema.Number]),
  score: Schema.Number,
  /** Mean eye aspect ratio of both eyes. */
  ear: Schema.Number,
  eyesClosed: Schema.Boolean,
  emotion: Schema.NullOr(EmotionScores)
})
export type AnalysisFace = typeof AnalysisFace.Type

export const AnalysisMessage = Schema.TaggedStruct("analysis", {
  seq: Schema.Number,
  capturedAt: Schema.Number,
  faces: Schema.Array(AnalysisFace)
})
export type AnalysisMessage = typeof AnalysisMessage.Type

export const ScoreMessage = Schema.TaggedStruct("score", { event: ScoreEvent })
export type ScoreMessage = typeof ScoreMessage.Type

/** Advice to send at most `maxFps` frames per second for a while (about 10 s), then ramp up gently. */
export const SlowDown = Schema.TaggedStruct("slowDown", { maxFps: Schema.Number })
export type SlowDown = typeof SlowDown.Type

export const ErrorCode = Schema.Literals([
  "bad_message",
  "bad_frame",
  "unsupported_version",
  "unsupported_kind",
  "bad_image",
  "not_started",
  "finished",
  "unknown_question",
  "not_current_question",
  "already_answered",
  "no_more_questions",
  "rate_limited",
  "frame_shed",
  "overloaded",
  "analysis_failed",
  // This frame could not be analysed (the inference worker holding it crashed, or hung and was stopped); the session
  // goes on and later frames are analysed.
  "frame_failed",
  "erased",
  // No consent to data processing on the tenant's current notice is recorded (or it was withdrawn).
  "consent_required",
  "busy",
  "replaced",
  "write_failed",
  "too_large",
  "unavailable",
  "internal"
])
export type ErrorCode = typeof ErrorCode.Type

export const ErrorMessage = Schema.TaggedStruct("error", {
  code: ErrorCode,
  message: Schema.String,
  /** The frame this error is about, for frame errors. */
  seq: Schema.optionalKey(Schema.Number)
})
export type ErrorMessage = typeof ErrorMessage.Type

export const Finished = Schema.TaggedStruct("finished", { reportUrl: Schema.String })
export type Finished = typeof Finished.Type

export const Pong = Schema.TaggedStruct("pong", { t: Schema.Number })
export type Pong = typeof Pong.Type

export const ServerMessage = Schema.Union([
  SessionMessage,
  QuestionMessage,
  AnswerSaved,
  AnalysisMessage,
  ScoreMessage,
  SlowDown,
  ErrorMessage,
  Finished,
  Pong
])
export type ServerMessage = typeof ServerMessage.Type

// Server → recruiter

/** First message of the recruiter live view: the interview's live hash as it stands. */
export const LiveState = Schema.TaggedStruct("live", {
  interviewId: Schema.String,
  fields: Schema.Record(Schema.String, Schema.String)
})
export type LiveState = typeof LiveState.Type

export const LiveMessage = Schema.Union([LiveState, ScoreEvent])
export type LiveMessage = typeof LiveMessage.Type

/** WebSocket close codes the server uses besides the standard ones (1000 normal, 1001 going away, 1008 policy, 1011 error). */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  internal: 1011,
  tooLarge: 1009,
  tryAgainLater: 1013,
  /** Another socket joined the same interview and took over. */
  replaced: 4001,
  /** The client stopped reading (backpressure) for too long. */
  notReading: 4002,
  /** The interview was erased while the socket was open. */
  erased: 4004
} as const
