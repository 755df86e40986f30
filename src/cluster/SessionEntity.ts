/**
 * An interview's session as an effect/cluster entity, keyed by interview id: exactly one runner owns it at a
 * time, and every node reaches it through this protocol. The owner runs the interview's `SessionActor` (its only
 * writer) and the inference for its frames; the node that holds a socket only relays.
 *
 * - `Ensure` starts the session on its owner (the upgrade check before a candidate socket opens).
 * - `Attach` makes a relayed socket the candidate's: a stream of what the actor sends to it, first `Attached`.
 *   It ends with `Close` when the actor closes the socket, and fails when the owner goes away; either way the
 *   relaying node closes the candidate's socket and the candidate reconnects (to any node).
 * - `Frame` is volatile: a frame lost with its owner is simply not analysed (the candidate sends the next one).
 * - `Command` (the candidate's socket commands) and `Ask` (commands on behalf of an HTTP request: answers,
 *   consent, abandonment) are persisted messages, de-duplicated by their primary key: one sent while its shard
 *   moves is delivered to the next owner, and one sent twice is applied once.
 * - `Quiesce` / `Release` bracket an erasure: the owner stops the session and starts none for the interview until
 *   the erasing node has removed its rows.
 *
 * Server messages and commands cross as JSON text: they are already validated on both sides and the socket speaks
 * JSON anyway, so one schema for each is not needed here.
 */
import { Schema } from "effect"
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import * as Rpc from "effect/rpc/Rpc"
import { SessionUnavailable } from "../actors/SessionUnavailable.ts"

/** What the owner sends down an `Attach` stream. */
export const Outbound = Schema.Union([
  Schema.TaggedStruct("Attached", { runner: Schema.String }),
  Schema.TaggedStruct("Send", { message: Schema.String, essential: Schema.Boolean }),
  Schema.TaggedStruct("Close", { code: Schema.Number, reason: Schema.String })
])
export type Outbound = typeof Outbound.Type

const Ensure = Rpc.make("Ensure", {
  success: Schema.Struct({ finished: Schema.Boolean }),
  error: SessionUnavailable
})

// Long-lived: when the owner hands the shard on, the stream is ended at once instead of after the grace period
// (the relaying node then closes the candidate's socket, and the candidate reconnects to the next owner).
const Attach = Rpc.make("Attach", {
  payload: { connection: Schema.String },
  success: Outbound,
  error: SessionUnavailable,
  stream: true
}).annotate(ClusterSchema.InterruptOnTermination, true)

const Frame = Rpc.make("Frame", {
  payload: {
    connection: Schema.String,
    seq: Schema.Number,
    capturedAt: Schema.Number,
    image: Schema.Uint8Array
  }
})

const Command = Rpc.make("Command", {
  payload: { id: Schema.String, command: Schema.String },
  error: SessionUnavailable,
  primaryKey: (p) => p.id
}).annotate(ClusterSchema.Persisted, true)

const Ask = Rpc.make("Ask", {
  payload: { id: Schema.String, command: Schema.String },
  /** The `CommandOutcome` as JSON. */
  success: Schema.String,
  error: SessionUnavailable,
  primaryKey: (p) => p.id
}).annotate(ClusterSchema.Persisted, true)

const Quiesce = Rpc.make("Quiesce", { payload: { token: Schema.String }, error: SessionUnavailable })

const Release = Rpc.make("Release", { payload: { token: Schema.String } })

/**
 * Every request is interrupted when its owner hands the shard on, instead of holding the hand-off up until the
 * termination grace period: a persisted one (`Command`, `Ask`) is then delivered to the next owner, a volatile one
 * fails to its caller, who retries.
 */
export const SessionEntity = Entity.make("InterviewSession", [
  Ensure,
  Attach,
  Frame,
  Command,
  Ask,
  Quiesce,
  Release
]).annotateRpcs(ClusterSchema.InterruptOnTermination, true)
