/**
 * What a SessionActor receives and what it persists, as Schemas: the same shapes an effect/cluster Entity would
 * use as its protocol and its durable state. Commands come from the candidate protocol; frames are volatile
 * (never persisted); the snapshot is the actor's whole restorable state.
 */
import { Schema } from "effect"
import { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import { Answer, Finish, Next, SessionStatus, Start } from "../../schemas/Protocol.ts"

/** Interview-changing commands (the candidate's control messages but `ping`). */
export const Command = Schema.Union([Start, Answer, Next, Finish])

/** A video frame, volatile: shed under load, never persisted. */
export const Frame = Schema.TaggedStruct("Frame", {
  seq: Schema.Number,
  capturedAt: Schema.Number,
  image: Schema.Uint8Array
})

/** A frame's analysis; where inference runs on another node than the actor, only this would cross. */
export const FrameAnalyzed = Schema.TaggedStruct("FrameAnalyzed", { analysis: FrameAnalysis, planned: Schema.Boolean })

const Totals = Schema.Struct({
  frames: Schema.Number,
  withFace: Schema.Number,
  multipleFaces: Schema.Number,
  earSum: Schema.Number,
  earFrames: Schema.Number,
  emotionSums: Schema.Array(Schema.Number),
  emotionFrames: Schema.Number,
  volatilitySum: Schema.Number,
  volatilityPairs: Schema.Number,
  blinks: Schema.Number
})

const ScorerState = Schema.Struct({
  t0: Schema.NullOr(Schema.Number),
  lastClosedSecond: Schema.Number,
  blink: Schema.Struct({
    closedSince: Schema.NullOr(Schema.Number),
    lastAt: Schema.NullOr(Schema.Number),
    firstFaceAt: Schema.NullOr(Schema.Number),
    total: Schema.Number,
    recent: Schema.Array(Schema.Number)
  }),
  question: Schema.NullOr(
    Schema.Struct({
      questionId: Schema.String,
      index: Schema.Number,
      openedAt: Schema.Number,
      totals: Totals,
      firstFaceAt: Schema.NullOr(Schema.Number),
      lastFaceAt: Schema.NullOr(Schema.Number)
    })
  )
})

const KeyframeState = Schema.Struct({
  lastPeriodicAt: Schema.NullOr(Schema.Number),
  lastEventAt: Schema.NullOr(Schema.Number),
  questionPeak: Schema.Number,
  hadFace: Schema.Boolean,
  hadMultiple: Schema.Boolean,
  count: Schema.Number
})

/** Everything a session needs to resume: question cursor, answers on record, counters and aggregates. */
export const SessionSnapshot = Schema.Struct({
  v: Schema.Literal(1),
  version: Schema.Number,
  status: SessionStatus,
  cursor: Schema.Number,
  startedAt: Schema.NullOr(Schema.Number),
  finishedAt: Schema.NullOr(Schema.Number),
  eventSeq: Schema.Number,
  lastSeq: Schema.Number,
  answers: Schema.Record(Schema.String, Schema.Struct({ answerId: Schema.String, digest: Schema.String })),
  scorer: ScorerState,
  keyframes: KeyframeState
})
export type SessionSnapshot = typeof SessionSnapshot.Type

export const decodeSnapshot = Schema.decodeUnknownOption(SessionSnapshot)
