/**
 * The recruiter live view, `GET /v1/interviews/:id/live` (WebSocket): a `live` message with the interview's live
 * hash as it stands, then every ScoreEvent of the interview as it is published.
 *
 * The tenant's API key authenticates the upgrade, as `Authorization: Bearer <key>` or, because browsers cannot
 * set headers on a WebSocket, as the console's session cookie (only from a page of Candor's own origin: the
 * `Origin` header must name the host, against cross-site WebSocket hijacking) or `?key=<key>`; a missing or wrong
 * credential is refused with 401 and another tenant's interview with 404 (as in the HTTP API, ids of other tenants
 * leak nothing). The view is best effort: while
 * the live store is unreachable it pauses, and a recruiter who does not read has events skipped.
 */
import { Context, Effect, Fiber, Layer, Option, Stream } from "effect"
import uWS from "uWebSockets.js"
import { CloseCodes } from "../../schemas/Protocol.ts"
import { SessionConfig } from "../actors/SessionConfig.ts"
import { liveChannel, liveKey } from "../pipeline/LiveSink.ts"
import { AuditLog } from "../store/AuditLog.ts"
import { Interviews } from "../store/Interviews.ts"
import { LiveStore } from "../store/LiveStore.ts"
import { Tenants } from "../store/Tenants.ts"
import { Users } from "../store/Users.ts"
import { ApiError } from "./ApiError.ts"
import { authenticateCredential, sessionCookie } from "./ConsoleAuth.ts"
import { bearerToken } from "./Route.ts"
import { HttpServer } from "./Server.ts"
import { SocketSender } from "./SocketSender.ts"
import { awaitClosed, upgradeAfter } from "./WsUpgrade.ts"

export const LIVE_PATH = "/v1/interviews/:id/live"

/** Whether an `Origin` header names `host` (the `Host` header: name and port). */
const sameHost = (origin: string, host: string): boolean => {
  try {
    return new URL(origin).host === host.toLowerCase()
  } catch {
    return false
  }
}

interface LiveSocketData {
  readonly interviewId: string
  /** From the database, for a live hash that is empty (in-process store after a restart, expired hash). */
  readonly base: Record<string, string>
  readonly sender: SocketSender
  fiber: Fiber.Fiber<void, unknown> | undefined
}

export class LiveSocket extends Context.Service<LiveSocket, { readonly open: () => number }>()("candor/LiveSocket") {
  static readonly layer = Layer.effect(
    LiveSocket,
    Effect.gen(function* () {
      const server = yield* HttpServer
      const tenants = yield* Tenants
      const users = yield* Users
      const interviews = yield* Interviews
      const live = yield* LiveStore
      const audit = yield* AuditLog
      const settings = yield* SessionConfig
      const run = Effect.runForkWith(yield* Effect.context<never>())
      const publicHost = new URL(server.publicUrl).host
      const sockets = new Set<LiveSocketData>()
      let accepting = true
      let nextId = 1

      /** The credential of an upgrade: a header, the console's cookie (same origin only), or `?key=`. */
      const credentialOf = (headers: Readonly<Record<string, string>>, query: URLSearchParams) => {
        const bearer = bearerToken(headers)
        if (bearer.length > 0) return Effect.succeed(bearer)
        const cookie = sessionCookie(headers)
        if (cookie.length > 0) {
          const origin = headers.origin ?? ""
          // The page's origin is this host, or PUBLIC_URL's when a proxy in front passes another Host.
          return origin !== "" && (sameHost(origin, headers.host ?? "") || sameHost(origin, publicHost))
            ? Effect.succeed(cookie)
            : Effect.fail(ApiError.forbidden("the session cookie is accepted only from Candor's own pages (Origin)"))
        }
        return Effect.succeed(query.get("key") ?? "")
      }

      const check = (id: string, key: string, remote: string) =>
        Effect.gen(function* () {
          if (key.length === 0)
            return yield* Effect.fail(
              ApiError.unauthorized(
                "send the tenant API key as 'Authorization: Bearer <key>' or '?key=<key>', or sign in to the console"
              )
            )
          const principal = yield* authenticateCredential(tenants, users, key).pipe(
            Effect.mapError(() => ApiError.unavailable("database unavailable; retry shortly"))
          )
          if (Option.isNone(principal)) return yield* Effect.fail(ApiError.unauthorized())
          const interview = yield* interviews
            .get(principal.value.tenantId, id)
            .pipe(Effect.mapError(() => ApiError.unavailable("database unavailable; retry shortly")))
          if (Option.isNone(interview)) return yield* Effect.fail(ApiError.notFound("interview"))
          // Opening the view is a read of candidate data: on record before the socket opens, or refused.
          yield* audit
            .record({
              tenantId: principal.value.tenantId,
              actor: principal.value.actor,
              action: "live.view",
              subject: id,
              source: remote
            })
            .pipe(Effect.mapError(() => ApiError.unavailable("audit log unavailable; retry shortly")))
          const data: LiveSocketData = {
            interviewId: id,
            base: {
              status: interview.value.status,
              questionCount: String(interview.value.questions.length)
            },
            sender: new SocketSender(nextId++, {
              softBytes: settings.softBackpressureBytes,
              maxHeld: settings.maxHeldMessages,
              notReadingTimeoutMs: settings.notReadingTimeoutMs
            }),
            fiber: undefined
          }
          return data
        })

      /** Live state first, then events; events arriving before the state is sent wait for it. */
      const follow = (s: LiveSocketData) =>
        Effect.gen(function* () {
          let ready = false
          const early: Array<string> = []
          const events = yield* Effect.forkChild(
            Stream.runForEach(live.subscribe(liveChannel(s.interviewId)), (message) =>
              Effect.sync(() => {
                if (ready) s.sender.sendText(message, false)
                else early.push(message)
              })
            )
          )
          const fields = yield* live.hgetall(liveKey(s.interviewId)).pipe(Effect.orElseSucceed(() => ({})))
          s.sender.send({ _tag: "live", interviewId: s.interviewId, fields: { ...s.base, ...fields } }, true)
          ready = true
          for (const message of early.splice(0)) s.sender.sendText(message, false)
          yield* Fiber.join(events)
        })

      server.app.ws<LiveSocketData>(LIVE_PATH, {
        maxPayloadLength: 4 * 1024,
        idleTimeout: settings.idleTimeoutSeconds,
        maxBackpressure: settings.maxBackpressureBytes,
        sendPingsAutomatically: true,
        compression: uWS.DISABLED,
        upgrade: (res, req, context) =>
          upgradeAfter(res, req, context, {
            run,
            accepting: accepting && server.phase() === "serving",
            check: (request) =>
              Effect.flatMap(credentialOf(request.headers, request.query), (credential) =>
                check(request.id, credential, request.remote)
              )
          }),
        open: (ws) => {
          const s = ws.getUserData()
          s.sender.bind(ws as uWS.WebSocket<unknown>)
          sockets.add(s)
          if (!accepting) return s.sender.close(CloseCodes.goingAway, "server is shutting down")
          s.fiber = run(follow(s))
        },
        // The view is read-only: anything the recruiter sends is ignored.
        message: () => {},
        drain: (ws) => ws.getUserData().sender.drain(),
        close: (ws) => {
          const s = ws.getUserData()
          s.sender.markClosed()
          sockets.delete(s)
          if (s.fiber !== undefined) run(Fiber.interrupt(s.fiber))
        }
      })

      const sweep = setInterval(() => {
        const now = Date.now()
        for (const s of sockets) s.sender.check(now)
      }, 1000)

      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => {
          accepting = false
          clearInterval(sweep)
          for (const s of sockets) s.sender.close(CloseCodes.goingAway, "server is shutting down")
          return awaitClosed(() => sockets.size)
        })
      )
      return { open: () => sockets.size }
    })
  )
}
