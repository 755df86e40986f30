/**
 * WebSocket upgrades decided by an asynchronous check (token, database), the uWS way: everything needed is copied
 * out of the request synchronously, `onAborted` is registered before any waiting, and the late upgrade (or the
 * HTTP refusal, as `{error: {code, message}}` with its status) is corked. A refused request never becomes a
 * socket.
 */
import { Cause, type Effect, Exit, Fiber, Option } from "effect"
import type uWS from "uWebSockets.js"
import { ApiError, errorJson, statusLine } from "./ApiError.ts"

export interface UpgradeRequest {
  /** The route's first parameter (`:id`). */
  readonly id: string
  readonly query: URLSearchParams
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>
}

type RunFork = <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>

const refuse = (res: uWS.HttpResponse, error: ApiError): void => {
  res.cork(() => {
    res
      .writeStatus(statusLine(error.status))
      .writeHeader("content-type", "application/json; charset=utf-8")
      .end(errorJson(error), true)
  })
}

/** Handles one upgrade request: runs `check`, then upgrades with its result as the socket's user data, or refuses. */
export const upgradeAfter = <D>(
  res: uWS.HttpResponse,
  req: uWS.HttpRequest,
  context: uWS.us_socket_context_t,
  options: {
    readonly run: RunFork
    readonly accepting: boolean
    readonly check: (request: UpgradeRequest) => Effect.Effect<D, ApiError>
    /** The client went away after the check succeeded (release what the check acquired). */
    readonly abandoned?: (data: D) => void
  }
): void => {
  const key = req.getHeader("sec-websocket-key")
  const protocol = req.getHeader("sec-websocket-protocol")
  const extensions = req.getHeader("sec-websocket-extensions")
  const headers: Record<string, string> = {}
  req.forEach((k, v) => {
    headers[k] = v
  })
  const request: UpgradeRequest = {
    id: req.getParameter(0) ?? "",
    query: new URLSearchParams(req.getQuery() ?? ""),
    headers
  }
  let aborted = false
  let fiber: Fiber.Fiber<D, ApiError> | undefined
  res.onAborted(() => {
    aborted = true
    if (fiber !== undefined) options.run(Fiber.interrupt(fiber))
  })
  if (!options.accepting) {
    refuse(res, ApiError.unavailable("server is shutting down"))
    return
  }
  const running = options.run(options.check(request))
  fiber = running
  running.addObserver((exit) => {
    if (aborted) {
      if (Exit.isSuccess(exit)) options.abandoned?.(exit.value)
      return
    }
    if (Exit.isSuccess(exit)) {
      res.cork(() => res.upgrade(exit.value, key, protocol, extensions, context))
      return
    }
    const failure = Cause.findErrorOption(exit.cause)
    refuse(res, Option.isSome(failure) && failure.value instanceof ApiError ? failure.value : ApiError.internal())
  })
}
