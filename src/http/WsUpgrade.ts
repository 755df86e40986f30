/**
 * WebSocket upgrades decided by an asynchronous check (token, database), the uWS way: everything needed is copied
 * out of the request synchronously, `onAborted` is registered before any waiting, and the late HTTP refusal (as
 * `{error: {code, message}}` with its status) is corked. A refused request never becomes a socket.
 */
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import type uWS from "uWebSockets.js"
import { ApiError, errorJson, statusLine } from "./ApiError.ts"

export interface UpgradeRequest {
  /** The route's first parameter (`:id`). */
  readonly id: string
  readonly query: URLSearchParams
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>
  /** The client's address. */
  readonly remote: string
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
    headers,
    remote: Buffer.from(res.getRemoteAddressAsText()).toString()
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
      // Not corked, unlike every other late write: with uWS 20.51 a corked asynchronous upgrade can close the new
      // socket right after `open` (uNetworking/uWebSockets#1928, fixed upstream by #1929). uWS.js prints a cork
      // warning for it instead, which is harmless.
      res.upgrade(exit.value, key, protocol, extensions, context)
      return
    }
    const failure = Cause.findErrorOption(exit.cause)
    refuse(res, Option.isSome(failure) && failure.value instanceof ApiError ? failure.value : ApiError.internal())
  })
}

/** Waits (at most `timeoutMs`) until `open()` sockets are left: closing handshakes take a round trip. */
export const awaitClosed = (open: () => number, timeoutMs = 2_000): Effect.Effect<void> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (open() > 0 && Date.now() < deadline) yield* Effect.sleep(10)
  })
