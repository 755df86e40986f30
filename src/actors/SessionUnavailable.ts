import { Schema } from "effect"

/** No actor can be had for the interview right now (database unreachable, server shutting down). */
export class SessionUnavailable extends Schema.TaggedError<SessionUnavailable>()("SessionUnavailable", {
  interviewId: Schema.String,
  message: Schema.String,
  /** `gone`: the interview no longer exists; `busy`: try again (database down, shutting down, queue full). */
  reason: Schema.Literals(["gone", "busy"])
}) {}
