/**
 * The HTTP front door on uWebSockets.js, as a scoped Layer: it listens when built and, when its scope closes,
 * stops accepting, lets requests in flight finish (bounded), then closes every socket.
 *
 * Every request is copied out of uWS synchronously (its request object dies after the callback), its body is
 * read with a size cap and a deadline, and the matching route runs as an Effect fiber that an aborted client
 * interrupts.
 */
import { Cause, Context, Effect, Exit, Fiber, Layer, Option, Schema, Scope } from "effect"
import { timingSafeEqual } from "node:crypto"
import uWS from "uWebSockets.js"
import { authenticateCredential, CSRF_HEADER, csrfMatches, sessionCookie } from "./ConsoleAuth.ts"
import { AppConfig } from "../config.ts"
import { Metrics } from "../Metrics.ts"
import { Tenants } from "../store/Tenants.ts"
import { Users } from "../store/Users.ts"
import { ApiError, errorJson, statusLine } from "./ApiError.ts"
import { recordRequest } from "./HttpMetrics.ts"
import { bearerToken, type Reply, type Route, requiredRole, roleAllows } from "./Route.ts"

export interface HttpServerShape {
  /** The uWS app, for modules that add WebSocket routes. */
  readonly app: uWS.TemplatedApp
  readonly port: number
  readonly url: string
  /** Base of links handed to people: `PUBLIC_URL`, or the listening URL. */
  readonly publicUrl: string
  /** Requests currently being handled. */
  readonly inFlight: () => number
  /** Where the server is in its life; only `serving` serves every route (see `open`). */
  readonly phase: () => Phase
  /**
   * Serves every route from now on, running them with `context` (the services of the whole engine, built after
   * the server started listening). Until then only operational routes answer; the rest answer 503 `starting`.
   */
  readonly open: (context: Context.Context<never>) => void
  /** Stops serving anything but operational routes (503 `shutting_down`); `/readyz` says so at once. */
  readonly drain: () => void
}

/**
 * `starting`: listening, the engine is still being built (routes but the operational ones answer 503 `starting`);
 * `serving`: every route, both WebSockets included; `draining`: shutting down (503 but for operational routes).
 */
export type Phase = "starting" | "serving" | "draining"

export class HttpServer extends Context.Service<HttpServer, HttpServerShape>()("candor/HttpServer") {}

/** Routes served by the HTTP server; features contribute theirs. */
export class HttpRoutes extends Context.Service<HttpRoutes, ReadonlyArray<Route>>()("candor/HttpRoutes") {}

/** Secret that operator commands (`candor seed`, `candor migrate`) present to a running server. */
export class AdminToken extends Context.Service<AdminToken, string>()("candor/AdminToken") {}

interface Compiled {
  readonly route: Route
  readonly segments: ReadonlyArray<string>
}

const compile = (routes: ReadonlyArray<Route>): ReadonlyArray<Compiled> =>
  routes.map((route) => ({ route, segments: route.path.split("/").filter((s) => s.length > 0) }))

const matchPath = (segments: ReadonlyArray<string>, parts: ReadonlyArray<string>) => {
  if (segments.length !== parts.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!
    if (s.startsWith(":")) params[s.slice(1)] = parts[i]!
    else if (s !== parts[i]) return undefined
  }
  return params
}

const decodeComponent = (s: string) => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** Turns Schema issues into "field: problem" lines, so a 400 names the offending field. */
const formatIssues = (issues: ReadonlyArray<{ message: string; path?: ReadonlyArray<unknown> | undefined }>) =>
  issues
    .slice(0, 10)
    .map((i) => {
      const path = (i.path ?? [])
        .map((p) => (typeof p === "object" && p !== null && "key" in p ? (p as { key: unknown }).key : p))
        .map((p, n) => (typeof p === "number" ? `[${p}]` : n === 0 ? String(p) : `.${String(p)}`))
        .join("")
      return path.length > 0 ? `${path}: ${i.message}` : i.message
    })
    .join("; ")

const validators = new WeakMap<Schema.Top, ReturnType<typeof Schema.toStandardSchemaV1>>()

const decodeWith = (schema: Schema.Top, value: unknown, what: "body" | "query") =>
  Effect.suspend(() => {
    let standard = validators.get(schema)
    if (standard === undefined) {
      standard = Schema.toStandardSchemaV1(schema as Schema.Codec<unknown, unknown>, {
        parseOptions: { onExcessProperty: "error", errors: "all" }
      })
      validators.set(schema, standard)
    }
    const result = standard["~standard"].validate(value)
    if (result instanceof Promise) return Effect.die(new Error("asynchronous schemas are not supported in routes"))
    return result.issues === undefined
      ? Effect.succeed(result.value)
      : Effect.fail(ApiError.validation(`invalid ${what}: ${formatIssues(result.issues)}`))
  })

/** Postgres text cannot hold NUL: refuse it at the door, naming the field, instead of failing in the database. */
const findNul = (value: unknown, path: string): string | undefined => {
  if (typeof value === "string") return value.includes("\u0000") ? path || "body" : undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], `${path}[${i}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const found = findNul(k, path) ?? findNul(v, path === "" ? k : `${path}.${k}`)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** Routes that answer in every phase: liveness, readiness, metrics, docs, and the loopback operator routes. */
const operational = (route: Route) => route.access === "public" || route.access === "admin"

const notServing = (phase: Phase) =>
  phase === "starting"
    ? new ApiError({ status: 503, code: "starting", message: "Candor is starting; retry in a moment" })
    : new ApiError({ status: 503, code: "shutting_down", message: "server is shutting down" })

const loopback = new Set(["127.0.0.1", "::1", "0000:0000:0000:0000:0000:0000:0000:0001", "::ffff:127.0.0.1"])

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export interface ServerOptions {
  readonly port?: number
  readonly host?: string
}

/** Listens on the configured host/port (port 0 picks a free one) and serves `HttpRoutes`. */
export const layer = (options: ServerOptions = {}) =>
  Layer.effect(
    HttpServer,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const routes = compile(yield* HttpRoutes)
      const tenants = yield* Tenants
      const users = yield* Users
      const metrics = yield* Metrics
      const adminToken = yield* AdminToken
      // Routes run with every service of the layer that built the server (see main.ts).
      const context = (yield* Effect.context<never>()) as Context.Context<any>
      // Routes may ask for the server itself (its URL for links); it is added once listening.
      let runFork = Effect.runForkWith(context)
      const scope = yield* Effect.scope
      const fibers = new Set<Fiber.Fiber<unknown, unknown>>()
      let accepting = true
      let phase: Phase = "starting"

      const app = uWS.App()

      const authorize = (route: Route, headers: Record<string, string>, remote: string) => {
        if (route.access === "public" || route.access === "candidate") return Effect.succeed(undefined)
        const token = bearerToken(headers)
        if (route.access === "admin") {
          return loopback.has(remote) && token.length > 0 && sameSecret(token, adminToken)
            ? Effect.succeed(undefined)
            : Effect.fail(ApiError.forbidden("operator endpoint: loopback and the admin token only"))
        }
        // An API key, else a session (header, or the console's cookie).
        const cookie = token.length > 0 ? "" : sessionCookie(headers)
        const credential = token.length > 0 ? token : cookie
        if (credential.length === 0)
          return Effect.fail(ApiError.unauthorized("send the tenant API key as 'Authorization: Bearer <key>'"))
        // A browser sends the cookie with any request to this origin: a change needs the session's CSRF token too.
        if (cookie.length > 0 && route.method !== "get" && !csrfMatches(headers, cookie))
          return Effect.fail(
            new ApiError({
              status: 403,
              code: "csrf",
              message: `a change made with the session cookie needs the '${CSRF_HEADER}' header (from sign-in or GET /v1/me)`
            })
          )
        // Looked up on every request, never cached: a revoked key or session is refused from its next request on.
        return authenticateCredential(tenants, users, credential).pipe(
          Effect.catch(() => Effect.fail(ApiError.unavailable("database unavailable"))),
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.fail(ApiError.unauthorized("missing or invalid API key or session")),
              onSome: Effect.succeed
            })
          ),
          Effect.flatMap((principal) => {
            const need = requiredRole(route)
            return roleAllows(principal.role, need)
              ? Effect.succeed(principal)
              : Effect.fail(ApiError.forbidden(`this needs the role ${need}; these credentials have ${principal.role}`))
          })
        )
      }

      const write = (
        res: uWS.HttpResponse,
        state: { aborted: boolean; done: boolean },
        reply: Reply,
        close = false
      ) => {
        if (state.aborted || state.done) return
        state.done = true
        const body = reply.json !== undefined ? JSON.stringify(reply.json) : reply.body === undefined ? "" : reply.body
        const contentType =
          reply.contentType ??
          (reply.json !== undefined ? "application/json; charset=utf-8" : "text/plain; charset=utf-8")
        res.cork(() => {
          res.writeStatus(statusLine(reply.status))
          if (reply.status !== 204) res.writeHeader("content-type", contentType)
          res.writeHeader("x-content-type-options", "nosniff")
          for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v)
          if (reply.status === 204) res.endWithoutBody(undefined, close)
          else res.end(body, close)
        })
      }

      const errorReply = (error: ApiError, headers?: Record<string, string>): Reply => ({
        status: error.status,
        body: errorJson(error),
        contentType: "application/json; charset=utf-8",
        ...(headers === undefined ? {} : { headers })
      })

      app.any("/*", (res, req) => {
        const started = performance.now()
        const method = req.getMethod().toLowerCase()
        const url = req.getUrl()
        const rawQuery = req.getQuery() ?? ""
        const headers: Record<string, string> = {}
        req.forEach((k, v) => {
          headers[k] = v
        })
        const remote = Buffer.from(res.getRemoteAddressAsText()).toString()
        const state = { aborted: false, done: false }
        let fiber: Fiber.Fiber<unknown, unknown> | undefined
        let timer: ReturnType<typeof setTimeout> | undefined
        res.onAborted(() => {
          state.aborted = true
          if (timer !== undefined) clearTimeout(timer)
          if (fiber !== undefined) runFork(Fiber.interrupt(fiber))
        })

        const finish = (reply: Reply, label: string, close = false) => {
          write(res, state, reply, close)
          recordRequest(metrics, label, reply.status, started)
        }

        if (!accepting) {
          finish(errorReply(notServing("draining")), "shutdown", true)
          return
        }
        const parts = url
          .split("/")
          .filter((s) => s.length > 0)
          .map(decodeComponent)
        if (parts.some((p) => p === undefined)) {
          finish(errorReply(ApiError.badRequest("malformed URL encoding in path")), "unmatched")
          return
        }
        let matched: { route: Route; params: Record<string, string> } | undefined
        const allowed: Array<string> = []
        for (const c of routes) {
          const params = matchPath(c.segments, parts as Array<string>)
          if (params === undefined) continue
          allowed.push(c.route.method.toUpperCase())
          if (c.route.method === method || (method === "head" && c.route.method === "get")) {
            matched = { route: c.route, params }
            break
          }
        }
        if (matched === undefined && phase !== "serving") {
          // A route registered once the engine is up (the WebSockets) is asked for early: not a 404.
          finish(errorReply(notServing(phase), { "retry-after": "1" }), "unmatched")
          return
        }
        if (matched === undefined) {
          finish(
            allowed.length === 0
              ? errorReply(new ApiError({ status: 404, code: "not_found", message: `no route for ${url}` }))
              : errorReply(ApiError.methodNotAllowed(allowed), { allow: allowed.join(", ") }),
            "unmatched"
          )
          return
        }
        const { route, params } = matched
        const label = `${route.method.toUpperCase()} ${route.path}`
        if (phase !== "serving" && !operational(route)) {
          finish(errorReply(notServing(phase), { "retry-after": "1" }), label)
          return
        }

        const run = (body: Buffer | undefined) => {
          const program = Effect.gen(function* () {
            const principal = yield* authorize(route, headers, remote)
            let query: unknown = {}
            if (route.query !== undefined) {
              const q: Record<string, string> = {}
              for (const [k, v] of new URLSearchParams(rawQuery)) q[k] = v
              query = yield* decodeWith(route.query, q, "query")
            }
            let decodedBody: unknown
            if (route.body !== undefined) {
              if (body === undefined || body.length === 0)
                return yield* Effect.fail(ApiError.badRequest("request body is required"))
              const type = (headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
              if (type !== "application/json") return yield* Effect.fail(ApiError.unsupportedMediaType())
              let parsed: unknown
              try {
                parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body))
              } catch (e) {
                return yield* Effect.fail(
                  ApiError.badRequest(`malformed JSON: ${e instanceof Error ? e.message : "not JSON"}`, "invalid_json")
                )
              }
              const nul = findNul(parsed, "")
              if (nul !== undefined) {
                return yield* Effect.fail(ApiError.validation(`invalid body: ${nul}: NUL characters are not allowed`))
              }
              decodedBody = yield* decodeWith(route.body, parsed, "body")
            }
            const reply = yield* route.handle({
              params,
              query,
              body: decodedBody,
              raw: route.rawBody === undefined ? undefined : (body ?? new Uint8Array(0)),
              principal: principal as never,
              headers,
              remote
            })
            const doc = route.responses[reply.status]
            if (reply.json !== undefined && doc?.schema !== undefined) {
              // Encoding through the documented schema keeps internal fields (tenant ids...) out of responses.
              const encoded = Schema.encodeUnknownSync(doc.schema as Schema.Codec<unknown, unknown>)(reply.json)
              return { ...reply, json: encoded }
            }
            return reply
          }).pipe(Effect.withSpan(`http ${label}`))
          const f = runFork(program)
          fiber = f
          fibers.add(f)
          f.addObserver((exit) => {
            fibers.delete(f)
            if (state.aborted) return
            if (Exit.isSuccess(exit)) {
              finish(method === "head" ? { ...exit.value, json: undefined, body: "" } : exit.value, label)
              return
            }
            const failure = Cause.findErrorOption(exit.cause)
            if (Option.isSome(failure) && failure.value instanceof ApiError) {
              finish(errorReply(failure.value), label)
              return
            }
            runFork(Effect.logError(`unhandled failure in ${label}`, exit.cause))
            finish(errorReply(ApiError.internal()), label)
          })
        }

        const length = headers["content-length"]
        const hasBody = (length !== undefined && length !== "0") || headers["transfer-encoding"] !== undefined
        const maxBodyBytes = route.rawBody?.maxBytes ?? config.maxBodyBytes
        if (route.rawBody !== undefined) {
          // Refused before the upload is read: a wrong type is known from the headers alone.
          const type = (headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
          if (!route.rawBody.contentTypes.includes(type)) {
            const accepted = route.rawBody.contentTypes.join(", ")
            const refusal = new ApiError({
              status: 415,
              code: "unsupported_media_type",
              message: `send the body as one of: ${accepted}${type === "" ? "" : ` (got ${type})`}`
            })
            // Credentials are still checked first: a caller without them learns nothing about the route's body.
            const f = runFork(authorize(route, headers, remote))
            f.addObserver((exit) => {
              const failure = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
              const error = Option.isSome(failure) && failure.value instanceof ApiError ? failure.value : refusal
              finish(errorReply(error), label, hasBody)
            })
            return
          }
        }
        if (!hasBody) {
          run(undefined)
          return
        }
        if (length !== undefined && !/^\d+$/.test(length)) {
          finish(errorReply(ApiError.badRequest("invalid Content-Length")), label, true)
          return
        }
        if (length !== undefined && Number(length) > maxBodyBytes) {
          finish(errorReply(ApiError.payloadTooLarge(maxBodyBytes)), label, true)
          return
        }
        const chunks: Array<Buffer> = []
        let size = 0
        timer = setTimeout(() => {
          finish(
            errorReply(new ApiError({ status: 408, code: "request_timeout", message: "request body too slow" })),
            label,
            true
          )
        }, config.requestTimeoutSeconds * 1000)
        res.onData((chunk, isLast) => {
          if (state.done || state.aborted) return
          size += chunk.byteLength
          if (size > maxBodyBytes) {
            clearTimeout(timer)
            finish(errorReply(ApiError.payloadTooLarge(maxBodyBytes)), label, true)
            return
          }
          // uWS reuses the chunk's memory after this callback returns: copy it.
          chunks.push(Buffer.from(chunk.slice(0)))
          if (isLast) {
            clearTimeout(timer)
            run(Buffer.concat(chunks, size))
          }
        })
      })

      const host = options.host ?? config.host
      const listenSocket = yield* Effect.callback<uWS.us_listen_socket, Error>((resume) => {
        app.listen(host, options.port ?? config.port, (socket) => {
          resume(
            socket === false
              ? Effect.fail(new Error(`cannot listen on ${host}:${options.port ?? config.port} (address in use?)`))
              : Effect.succeed(socket)
          )
        })
      })
      const port = uWS.us_socket_local_port(listenSocket)

      yield* Scope.addFinalizer(
        scope,
        Effect.gen(function* () {
          accepting = false
          phase = "draining"
          uWS.us_listen_socket_close(listenSocket)
          // Requests in flight get a bounded grace period, then are interrupted.
          const deadline = Date.now() + 10_000
          while (fibers.size > 0 && Date.now() < deadline) yield* Effect.sleep("20 millis")
          for (const f of fibers) yield* Fiber.interrupt(f)
          app.close()
        })
      )
      const shown = host === "0.0.0.0" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host
      const url = `http://${shown}:${port}`
      const server: HttpServerShape = {
        app,
        port,
        url,
        publicUrl: config.publicUrl ?? url,
        inFlight: () => fibers.size,
        phase: () => phase,
        open: (engine) => {
          runFork = Effect.runForkWith(Context.add(Context.merge(context, engine), HttpServer, server))
          if (phase === "starting") phase = "serving"
        },
        drain: () => {
          phase = "draining"
        }
      }
      runFork = Effect.runForkWith(Context.add(context, HttpServer, server))
      return server
    })
  )
