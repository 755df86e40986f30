/**
 * The owning runner's side of `SessionEntity`: one instance per interview whose shard this runner holds, running
 * the interview's actor in this process's `LocalSessions`. When the instance ends (the shard moves to another
 * runner, this node shuts down, or the entity was idle), its actor is stopped with a final write before the shard
 * is handed on, so two runners never write one interview's session at once.
 *
 * While it lives, the instance records where it runs in the live store (`interview:<id>:owner`: runner and since),
 * refreshed with a TTL, so that `GET /v1/interviews/:id` can say which node has a live interview.
 */
import { type Cause, Deferred, Duration, Effect, Option, Queue, Schedule, Stream } from "effect"
import * as Entity from "effect/cluster/Entity"
import type { ServerMessage, SessionCommand } from "../../schemas/Protocol.ts"
import type { CandidateConnection } from "../actors/FrameFlight.ts"
import type { SessionHandle } from "../actors/SessionHandle.ts"
import type { CoreCommand } from "../actors/SessionCore.ts"
import { LocalSessions, SessionUnavailable } from "../actors/SessionRegistry.ts"
import { Interviews } from "../store/Interviews.ts"
import { LiveStore } from "../store/LiveStore.ts"
import { type Outbound, SessionEntity } from "./SessionEntity.ts"

/** Where an interview's live session runs, in the live store. */
export const ownerKey = (interviewId: string) => `interview:${interviewId}:owner`

const OWNER_TTL_SECONDS = 30
/** How long an erasure may keep an interview's session stopped waiting for its `Release`. */
const QUIESCE_LIMIT = Duration.seconds(60)

interface Relay {
  readonly connection: CandidateConnection
  readonly handle: SessionHandle
}

export const runnerName = (address: { readonly host: string; readonly port: number }) =>
  address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`

/** The entity's handlers; `maxIdleTime` bounds how long an instance without messages stays resident. */
export const layer = (options: { readonly maxIdleTime: Duration.Input }) =>
  SessionEntity.toLayer(
    Effect.gen(function* () {
      const interviewId = (yield* Entity.CurrentAddress).entityId
      const runner = runnerName(yield* Entity.CurrentRunnerAddress)
      const local = yield* LocalSessions
      const interviews = yield* Interviews
      const live = yield* LiveStore
      const scope = yield* Effect.scope
      const relays = new Map<string, Relay>()
      const releases = new Map<string, Deferred.Deferred<void>>()
      let nextConnection = 1

      const since = new Date().toISOString()
      const key = ownerKey(interviewId)
      // The hash and its expiry in one round trip.
      const record = live
        .writeBatch({ hashes: [{ key, fields: { runner, since }, ttlSeconds: OWNER_TTL_SECONDS }], messages: [] })
        .pipe(Effect.ignore)
      yield* record
      yield* Effect.forkIn(Effect.repeat(record, Schedule.spaced(Duration.seconds(OWNER_TTL_SECONDS / 3))), scope)
      // Last in, first out: the actor stops (and writes) before the record goes.
      yield* Effect.addFinalizer(() => live.del(key).pipe(Effect.ignore))
      yield* Effect.addFinalizer(() => Effect.suspend(() => local.find(interviewId)?.stop("shutdown") ?? Effect.void))

      const unavailable = (message: string, reason: SessionUnavailable["reason"] = "busy") =>
        new SessionUnavailable({ interviewId, message, reason })

      const interview = interviews.getById(interviewId).pipe(
        Effect.mapError(() => unavailable("database unavailable")),
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.fail(unavailable("the interview does not exist", "gone")),
            onSome: Effect.succeed
          })
        )
      )
      const acquire = Effect.flatMap(interview, local.acquire)

      return SessionEntity.of({
        Ensure: () => Effect.map(acquire, (handle) => ({ finished: handle.finished() })),

        Attach: ({ payload }) =>
          Stream.unwrap(
            Effect.gen(function* () {
              const handle = yield* acquire
              const queue = yield* Queue.unbounded<Outbound, Cause.Done>()
              const connection: CandidateConnection = {
                id: nextConnection++,
                send: (message: ServerMessage, essential: boolean) => {
                  Queue.offerUnsafe(queue, { _tag: "Send", message: JSON.stringify(message), essential })
                },
                close: (code: number, reason: string) => {
                  Queue.offerUnsafe(queue, { _tag: "Close", code, reason })
                  Queue.endUnsafe(queue)
                }
              }
              Queue.offerUnsafe(queue, { _tag: "Attached", runner })
              relays.set(payload.connection, { connection, handle })
              handle.attach(connection)
              return Stream.fromQueue(queue).pipe(
                Stream.ensuring(
                  Effect.sync(() => {
                    if (relays.get(payload.connection)?.connection === connection) relays.delete(payload.connection)
                    handle.detach(connection)
                  })
                )
              )
            })
          ),

        Frame: ({ payload }) =>
          Effect.sync(() => {
            // A frame whose socket is no longer attached here (it moved, or closed) has nobody to answer.
            const relay = relays.get(payload.connection)
            if (relay === undefined) return
            relay.handle.frame(relay.connection, {
              seq: payload.seq,
              capturedAt: payload.capturedAt,
              image: payload.image
            })
          }),

        Command: ({ payload }) =>
          Effect.flatMap(acquire, (handle) =>
            handle.command(JSON.parse(payload.command) as SessionCommand)
              ? Effect.void
              : Effect.fail(unavailable("too many commands waiting"))
          ),

        Ask: ({ payload }) =>
          Effect.flatMap(interview, (record) =>
            Effect.map(local.ask(record, JSON.parse(payload.command) as CoreCommand), (outcome) =>
              JSON.stringify(outcome)
            )
          ),

        Quiesce: ({ payload }) =>
          Effect.gen(function* () {
            const stopped = Deferred.makeUnsafe<void>()
            const release = Deferred.makeUnsafe<void>()
            releases.set(payload.token, release)
            const hold = Deferred.await(release).pipe(Effect.timeoutOption(QUIESCE_LIMIT))
            yield* Effect.forkIn(
              local
                .erase(interviewId, Effect.andThen(Deferred.succeed(stopped, undefined), hold))
                .pipe(Effect.ensuring(Effect.sync(() => releases.delete(payload.token)))),
              scope
            )
            yield* Deferred.await(stopped)
          }),

        Release: ({ payload }) =>
          Effect.suspend(() => {
            const release = releases.get(payload.token)
            return release === undefined ? Effect.void : Deferred.succeed(release, undefined).pipe(Effect.asVoid)
          })
      })
    }),
    { concurrency: "unbounded", maxIdleTime: options.maxIdleTime }
  )
