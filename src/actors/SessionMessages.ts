/**
 * What a SessionActor persists, as a Schema: its snapshot, the whole restorable state of a session (question
 * cursor, answers on record, scorer aggregates, keyframe policy), read back when a session resumes anywhere.
 */
import { Schema } from "effect"
import { SessionStatus } from "../../schemas/Protocol.ts"

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
