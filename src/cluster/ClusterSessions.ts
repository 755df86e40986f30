/**
 * `SessionRegistry` in cluster mode: every call goes to the interview's entity on the runner that owns it (this
 * one or another), so any node serves any candidate and any request, and the owner's actor stays the interview's
 * only writer.
 *
 * A candidate socket on this node is relayed (`RemoteHandle`): its frames go to the owner as volatile messages,
 * its commands as persisted ones, one at a time and in order, and what the owner's actor sends comes back down
 * the `Attach` stream. When that stream ends without the actor closing the socket (the owner died or handed the
 * shard on), the socket is attached to the shard's next owner and stays open: the candidate sees a resumed
 * `session` and goes on. A candidate whose socket was on a node that stops reconnects, to whichever node.
 *
 * A tenant's new notice reaches the live sessions of every node through the live store's pub/sub.
 */
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Schedule, Schema, Stream } from "effect"
import { EntityAddress } from "effect/cluster/EntityAddress"
import { EntityId } from "effect/cluster/EntityId"
import { MessageStorage } from "effect/cluster/MessageStorage"
import { Sharding } from "effect/cluster/Sharding"
import { CloseCodes, type ServerMessage, type SessionCommand } from "../../schemas/Protocol.ts"
import type { CommandOutcome } from "../actors/CommitQueue.ts"
import { type CandidateConnection, frameError } from "../actors/FrameFlight.ts"
import type { SessionHandle } from "../actors/SessionHandle.ts"
import type { CoreCommand } from "../actors/SessionCore.ts"
import { SessionConfig } from "../actors/SessionConfig.ts"
import { LocalSessions, SessionRegistry, SessionUnavailable } from "../actors/SessionRegistry.ts"
import type { IncomingFrame } from "../pipeline/FrameProtocol.ts"
import { ClusterMessages } from "../store/ClusterMessages.ts"
import { LiveStore } from "../store/LiveStore.ts"
import { type Outbound, SessionEntity } from "./SessionEntity.ts"

/** Where tenants' notice changes are announced to every node. */
const NOTICE_CHANNEL = "cluster:notices"
/** How long a processed persisted message is kept (a resend within it is recognised), and how often to purge. */
const KEEP_PROCESSED = Duration.hours(1)
const PURGE_EVERY = Duration.minutes(10)
/** Frames accepted before the owner has attached the socket (a client that sends at once). */
const EARLY_FRAMES = 8
/** How long a relayed socket stays open waiting for its session's next owner. */
const REATTACH_LIMIT_MS = 15_000
/** Frames on their way to the owner; beyond this the socket's frames are shed here. */
const FRAMES_IN_TRANSIT = 16

const NoticeChanged = Schema.Struct({ tenantId: Schema.String, version: Schema.String })
const decodeNotice = Schema.decodeUnknownOption(Schema.fromJsonString(NoticeChanged))

export const layer = Layer.effect(
  SessionRegistry,
  Effect.gen(function* () {
    const local = yield* LocalSessions
    const live = yield* LiveStore
    const settings = yield* SessionConfig
    const clientFor = yield* SessionEntity.client
    const sharding = yield* Sharding
    const storage = yield* MessageStorage
    const messages = yield* ClusterMessages
    const run = Effect.runForkWith(yield* Effect.context<never>())
    // Socket keys are unique across nodes and restarts: the owner relays to a key, never to a reused number.
    const nonce = crypto.randomUUID().slice(0, 8)
    let nextSocket = 1
    let closing = false

    yield* Effect.forkScoped(
      live.subscribe(NOTICE_CHANNEL).pipe(
        Stream.runForEach((text) =>
          Option.match(decodeNotice(text), {
            onNone: () => Effect.logWarning("cluster: unreadable notice announcement"),
            onSome: (n) => local.noticeChanged(n.tenantId, n.version)
          })
        )
      )
    )

    yield* Effect.forkScoped(
      Effect.suspend(() => messages.purgeProcessed(new Date(Date.now() - Duration.toMillis(KEEP_PROCESSED)))).pipe(
        Effect.catch((e) => Effect.logWarning(`cluster: purging processed messages failed: ${e.message}`)),
        Effect.repeat(Schedule.spaced(PURGE_EVERY))
      )
    )

    /** The interview's persisted messages (commands, answers' text) go with it. */
    const forget = (interviewId: string) => {
      const entityId = EntityId.make(interviewId)
      return storage.clearAddress(
        EntityAddress.make({
          entityType: SessionEntity.type,
          entityId,
          shardId: sharding.getShardId(entityId, SessionEntity.getShardGroup(entityId))
        })
      )
    }

    /** What a failed cluster call means to a caller: the session's own refusal, or "try again". */
    const unavailable =
      (interviewId: string) =>
      (error: unknown): SessionUnavailable =>
        error instanceof SessionUnavailable
          ? error
          : new SessionUnavailable({
              interviewId,
              message: `the node that runs this session did not answer (${(error as { _tag?: string })._tag ?? "error"}); retry`,
              reason: "busy"
            })

    const remoteHandle = (interviewId: string, finished: boolean): SessionHandle => {
      const client = clientFor(interviewId)
      const key = `${nonce}:${nextSocket++}`
      const stopped = Deferred.makeUnsafe<void>()
      const early: Array<IncomingFrame> = []
      const commands: Array<SessionCommand> = []
      let relay: Fiber.Fiber<void, unknown> | undefined
      let connection: CandidateConnection | undefined
      let attached = false
      let ended = false
      let sending = false
      let inTransit = 0
      let commandSeq = 0

      const sendFrame = (to: CandidateConnection, frame: IncomingFrame) => {
        if (inTransit >= FRAMES_IN_TRANSIT) {
          to.send(frameError(frame.seq, "frame_shed", "frames are arriving faster than they can be relayed"), false)
          return
        }
        inTransit++
        run(
          client
            .Frame(
              { connection: key, seq: frame.seq, capturedAt: frame.capturedAt, image: frame.image },
              { discard: true }
            )
            .pipe(Effect.ignore, Effect.ensuring(Effect.sync(() => inTransit--)))
        )
      }

      const pumpCommands = (): void => {
        if (sending || !attached || commands.length === 0) return
        sending = true
        const command = commands.shift()!
        run(
          client.Command({ id: `${key}:${++commandSeq}`, command: JSON.stringify(command) }).pipe(
            Effect.catch((error) =>
              Effect.sync(() =>
                connection?.send(
                  { _tag: "error", code: "unavailable", message: unavailable(interviewId)(error).message },
                  true
                )
              )
            ),
            Effect.ensuring(
              Effect.sync(() => {
                sending = false
                pumpCommands()
              })
            )
          )
        )
      }

      const onOutbound = (to: CandidateConnection) => (out: Outbound) =>
        Effect.sync(() => {
          switch (out._tag) {
            case "Attached":
              attached = true
              for (const frame of early.splice(0)) sendFrame(to, frame)
              return pumpCommands()
            case "Send":
              return to.send(JSON.parse(out.message) as ServerMessage, out.essential)
            case "Close":
              ended = true
              return to.close(out.code, out.reason)
          }
        })

      /**
       * Relays the owner's stream to `to`. When the stream ends without the actor closing the socket (the owner
       * handed the shard on, or died), the socket is attached to the next owner, kept open meanwhile; only when no
       * owner takes it within `REATTACH_LIMIT_MS`, or the session refuses for good, is the candidate told to
       * reconnect.
       */
      const relayTo = (to: CandidateConnection) =>
        Effect.gen(function* () {
          /** When the socket lost its owner; reset once an owner has it again. */
          let lostAt: number | undefined
          let delay = 50
          while (true) {
            const exit = yield* Effect.exit(
              client.Attach({ connection: key }).pipe(
                Stream.runForEach((out) =>
                  Effect.andThen(
                    onOutbound(to)(out),
                    Effect.sync(() => {
                      if (out._tag === "Attached") {
                        lostAt = undefined
                        delay = 50
                      }
                    })
                  )
                )
              )
            )
            if (ended || connection !== to) return
            attached = false
            const refused = Exit.findErrorOption(exit).pipe(
              Option.filter((e) => e instanceof SessionUnavailable && e.reason === "gone")
            )
            lostAt ??= Date.now()
            if (closing || Option.isSome(refused) || Date.now() - lostAt > REATTACH_LIMIT_MS) {
              to.close(CloseCodes.tryAgainLater, "the session moved to another node; reconnect")
              return
            }
            yield* Effect.sleep(delay)
            delay = Math.min(250, delay * 2)
          }
        })

      const end = () => {
        attached = false
        ended = true
        Deferred.doneUnsafe(stopped, Effect.void)
      }

      return {
        interviewId,
        finished: () => finished,
        closed: () => ended,
        attach: (to) => {
          connection = to
          relay = run(Effect.ensuring(relayTo(to), Effect.sync(end)))
        },
        detach: (from) => {
          if (connection !== from) return
          connection = undefined
          if (relay !== undefined) run(Fiber.interrupt(relay))
          else end()
        },
        command: (command) => {
          if (commands.length >= settings.mailboxControl) return false
          commands.push(command)
          pumpCommands()
          return true
        },
        ask: (command) => ask(interviewId, command).pipe(Effect.orElseSucceed(() => "busy" as const)),
        frame: (origin, frame) => {
          if (attached) return sendFrame(origin, frame)
          if (early.length < EARLY_FRAMES) early.push(frame)
          else origin.send(frameError(frame.seq, "frame_shed", "the session is not ready yet"), false)
        },
        stop: () =>
          Effect.suspend(() => {
            if (relay === undefined) end()
            else run(Fiber.interrupt(relay))
            return Deferred.await(stopped)
          }),
        done: Deferred.await(stopped)
      }
    }

    const ask = (interviewId: string, command: CoreCommand): Effect.Effect<CommandOutcome, SessionUnavailable> =>
      clientFor(interviewId)
        .Ask({ id: crypto.randomUUID(), command: JSON.stringify(command) })
        .pipe(
          Effect.map((outcome) => JSON.parse(outcome) as CommandOutcome),
          Effect.mapError(unavailable(interviewId))
        )

    return {
      acquire: (interview) =>
        closing
          ? Effect.fail(
              new SessionUnavailable({ interviewId: interview.id, message: "server is shutting down", reason: "busy" })
            )
          : clientFor(interview.id)
              .Ensure()
              .pipe(
                Effect.map(({ finished }) => remoteHandle(interview.id, finished)),
                Effect.mapError(unavailable(interview.id))
              ),
      ask: (interview, command) => ask(interview.id, command),
      erase: (interviewId, remove) =>
        Effect.gen(function* () {
          const client = clientFor(interviewId)
          const token = crypto.randomUUID()
          // The owner stops the session and starts none until released; unreachable, it has nothing to stop.
          yield* client.Quiesce({ token }).pipe(Effect.ignore)
          const result = yield* Effect.ensuring(remove, client.Release({ token }).pipe(Effect.ignore))
          yield* forget(interviewId).pipe(
            Effect.catch((e) => Effect.logWarning(`cluster: messages of erased ${interviewId} kept: ${e.message}`))
          )
          return result
        }),
      noticeChanged: (tenantId, version) =>
        live.publish(NOTICE_CHANNEL, JSON.stringify({ tenantId, version })).pipe(
          // The live store unreachable: this node's sessions hear of it at least.
          Effect.catch(() => local.noticeChanged(tenantId, version))
        ),
      find: local.find,
      size: local.size,
      shutdown: Effect.sync(() => {
        closing = true
      }),
      stats: local.stats
    }
  })
)
