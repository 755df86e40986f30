/**
 * The candidate WebSocket, `/v1/interviews/:id/stream?token=…`: where frames enter Candor.
 *
 * Before the upgrade: the join token must be valid (401), for this interview and its tenant (403), the interview
 * must exist (404) and not be finished (409); its SessionActor is started then, so the socket opens onto a
 * ready session. After it: binary messages are video frames (see schemas/Protocol.ts), capped per socket by a
 * token bucket, copied out of uWS's buffer and queued to the actor; text messages are JSON commands validated by
 * Schema. Every invalid message gets an `error` reply; a client that keeps sending invalid messages (more than
 * `maxErrorsPer10s`) or floods commands is closed with 1008, one that stops reading with 4002. A message over
 * `maxPayloadBytes` gets `error too_large` and a 1009 close; uWS itself drops the connection (no close frame)
 * past a hard limit 1 MB higher, so that no socket can make the server buffer more. uWS also enforces
 * `idleTimeout`, with automatic pings.
 *
 * On shutdown (scope close): upgrades are refused with 503, further messages get `error unavailable`, every
 * session is flushed, and the sockets are closed with 1001.
 */
import { Context, Effect, Layer, Option } from "effect"
import uWS from "uWebSockets.js"
import { CloseCodes, type ErrorCode } from "../../schemas/Protocol.ts"
import type { SessionHandle } from "../actors/SessionActor.ts"
import { SessionConfig, type SessionSettings } from "../actors/SessionConfig.ts"
import { SessionRegistry } from "../actors/SessionRegistry.ts"
import { decodeControl, isControlProblem } from "../pipeline/ControlMessages.ts"
import { decodeFrame, isFrameProblem, peekSeq } from "../pipeline/FrameProtocol.ts"
import { TokenBucket } from "../pipeline/TokenBucket.ts"
import { Interviews } from "../store/Interviews.ts"
import { ApiError } from "./ApiError.ts"
import { JoinTokens } from "./JoinTokens.ts"
import { HttpServer } from "./Server.ts"
import { SocketSender } from "./SocketSender.ts"
import { awaitClosed, upgradeAfter } from "./WsUpgrade.ts"

export const CANDIDATE_PATH = "/v1/interviews/:id/stream"

const ERROR_WINDOW_MS = 10_000
/** Beyond `maxPayloadBytes`, how much more uWS accepts before dropping the connection without a close frame. */
const HARD_LIMIT_MARGIN = 1024 * 1024

/** Per-socket state, handed to uWS as the socket's user data through `upgrade`. */
class CandidateSocketData {
  readonly sender: SocketSender
  readonly frames: TokenBucket
  readonly commands: TokenBucket
  errors = 0
  errorsSince = 0
  lastSlowDownAt = 0

  constructor(
    readonly interviewId: string,
    readonly handle: SessionHandle,
    readonly settings: SessionSettings,
    id: number
  ) {
    const now = Date.now()
    this.sender = new SocketSender(id, {
      softBytes: settings.softBackpressureBytes,
      maxHeld: settings.maxHeldMessages,
      notReadingTimeoutMs: settings.notReadingTimeoutMs
    })
    this.frames = new TokenBucket(settings.maxFps, settings.maxFps, now)
    this.commands = new TokenBucket(settings.maxControlPerSecond, settings.maxControlPerSecond * 2, now)
  }
}

export class CandidateSocket extends Context.Service<CandidateSocket, { readonly open: () => number }>()(
  "candor/CandidateSocket"
) {
  static readonly layer = Layer.effect(
    CandidateSocket,
    Effect.gen(function* () {
      const server = yield* HttpServer
      const registry = yield* SessionRegistry
      const tokens = yield* JoinTokens
      const interviews = yield* Interviews
      const settings = yield* SessionConfig
      const run = Effect.runForkWith(yield* Effect.context<never>())
      const stats = registry.stats
      const sockets = new Set<CandidateSocketData>()
      let accepting = true
      let nextId = 1

      const check = (id: string, token: string) =>
        Effect.gen(function* () {
          const claims = yield* tokens.verify(token)
          if (Option.isNone(claims))
            return yield* Effect.fail(ApiError.unauthorized("missing, invalid or expired candidate token"))
          if (claims.value.interviewId !== id)
            return yield* Effect.fail(ApiError.forbidden("this token is for another interview"))
          const found = yield* interviews
            .getById(id)
            .pipe(Effect.mapError(() => ApiError.unavailable("database unavailable; retry shortly")))
          if (Option.isNone(found)) return yield* Effect.fail(ApiError.notFound("interview"))
          const interview = found.value
          if (interview.tenantId !== claims.value.tenantId)
            return yield* Effect.fail(ApiError.forbidden("this token is for another tenant"))
          if (interview.status === "finished" || interview.status === "abandoned")
            return yield* Effect.fail(ApiError.conflict(`the interview is ${interview.status}`))
          const handle = yield* registry
            .acquire(interview)
            .pipe(
              Effect.mapError((e) =>
                e.reason === "gone" ? ApiError.notFound("interview") : ApiError.unavailable(e.message)
              )
            )
          if (handle.finished()) return yield* Effect.fail(ApiError.conflict("the interview is finished"))
          return new CandidateSocketData(id, handle, settings, nextId++)
        })

      const reply = (s: CandidateSocketData, code: ErrorCode, message: string, seq?: number) =>
        s.sender.send(
          seq === undefined ? { _tag: "error", code, message } : { _tag: "error", code, message, seq },
          seq === undefined
        )

      /** Counts an invalid message; too many in a short time ends the connection. */
      const strike = (s: CandidateSocketData, now: number) => {
        stats.protocolErrors++
        if (now - s.errorsSince > ERROR_WINDOW_MS) {
          s.errors = 0
          s.errorsSince = now
        }
        if (++s.errors > settings.maxErrorsPer10s) s.sender.close(CloseCodes.policy, "too many invalid messages")
      }

      const onBinary = (s: CandidateSocketData, message: ArrayBuffer, now: number) => {
        if (!s.frames.take(now)) {
          stats.rateLimited++
          reply(s, "rate_limited", `more than ${settings.maxFps} frames per second`, peekSeq(message) ?? -1)
          if (now - s.lastSlowDownAt >= settings.slowDownEveryMs) {
            s.lastSlowDownAt = now
            s.sender.send({ _tag: "slowDown", maxFps: settings.maxFps }, true)
          }
          return
        }
        const frame = decodeFrame(message)
        if (isFrameProblem(frame)) {
          reply(s, frame.code, frame.message, frame.seq ?? -1)
          return strike(s, now)
        }
        s.handle.frame(s.sender, frame)
      }

      const onText = (s: CandidateSocketData, message: ArrayBuffer, now: number) => {
        const decoded = decodeControl(message)
        if (isControlProblem(decoded)) {
          reply(s, "bad_message", decoded.problem)
          return strike(s, now)
        }
        if (!s.commands.take(now)) {
          reply(s, "rate_limited", `more than ${settings.maxControlPerSecond} commands per second`)
          return strike(s, now)
        }
        if (decoded._tag === "ping") return s.sender.send({ _tag: "pong", t: decoded.t }, true)
        if (!s.handle.command(decoded)) {
          reply(s, "busy", "too many commands waiting")
          s.sender.close(CloseCodes.policy, "too many commands waiting")
        }
      }

      server.app.ws<CandidateSocketData>(CANDIDATE_PATH, {
        maxPayloadLength: settings.maxPayloadBytes + HARD_LIMIT_MARGIN,
        idleTimeout: settings.idleTimeoutSeconds,
        maxBackpressure: settings.maxBackpressureBytes,
        closeOnBackpressureLimit: false,
        sendPingsAutomatically: true,
        compression: uWS.DISABLED,
        upgrade: (res, req, context) =>
          upgradeAfter(res, req, context, {
            run,
            accepting: accepting && server.phase() === "serving",
            check: (request) => check(request.id, request.query.get("token") ?? "")
          }),
        open: (ws) => {
          const s = ws.getUserData()
          s.sender.bind(ws as uWS.WebSocket<unknown>)
          sockets.add(s)
          stats.sockets = sockets.size
          if (!accepting) return s.sender.close(CloseCodes.goingAway, "server is shutting down")
          if (s.handle.closed()) return s.sender.close(CloseCodes.tryAgainLater, "session is restarting; reconnect")
          s.handle.attach(s.sender)
        },
        message: (ws, message, isBinary) => {
          const s = ws.getUserData()
          if (s.sender.closed) return
          if (!accepting)
            return reply(s, "unavailable", "server is shutting down", isBinary ? (peekSeq(message) ?? -1) : undefined)
          if (message.byteLength > settings.maxPayloadBytes) {
            reply(s, "too_large", `messages are limited to ${settings.maxPayloadBytes} bytes`)
            return s.sender.close(CloseCodes.tooLarge, "message too large")
          }
          const now = Date.now()
          if (isBinary) onBinary(s, message, now)
          else onText(s, message, now)
        },
        drain: (ws) => ws.getUserData().sender.drain(),
        close: (ws) => {
          const s = ws.getUserData()
          s.sender.markClosed()
          sockets.delete(s)
          stats.sockets = sockets.size
          s.handle.detach(s.sender)
        }
      })

      const sweep = setInterval(() => {
        const now = Date.now()
        for (const s of sockets) s.sender.check(now)
      }, 1000)

      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          accepting = false
          clearInterval(sweep)
          yield* registry.shutdown
          for (const s of sockets) s.sender.close(CloseCodes.goingAway, "server is shutting down")
          // Let the close handshakes finish before the server closes the app (which would cut them off).
          yield* awaitClosed(() => sockets.size)
        })
      )
      return { open: () => sockets.size }
    })
  )
}
