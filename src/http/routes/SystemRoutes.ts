/** Operational routes: liveness, readiness, Prometheus metrics, the OpenAPI document and its docs page. */
import { Effect } from "effect"
import { Health } from "../../../schemas/Api.ts"
import { Metrics } from "../../Metrics.ts"
import * as Database from "../../store/Database.ts"
import { LiveStore } from "../../store/LiveStore.ts"
import { docsPage } from "../DocsPage.ts"
import { HttpServer } from "../Server.ts"
import type { Route } from "../Route.ts"
import { json, route } from "../Route.ts"

const timed = <E, R>(check: Effect.Effect<unknown, E, R>) =>
  Effect.gen(function* () {
    const started = performance.now()
    const result = yield* check.pipe(Effect.timeout("2 seconds"), Effect.result)
    const ms = Math.round((performance.now() - started) * 10) / 10
    return result._tag === "Success"
      ? { ok: true, ms }
      : { ok: false, ms, error: String((result.failure as { message?: unknown }).message ?? result.failure) }
  })

export const systemRoutes = (openApi: () => unknown): ReadonlyArray<Route> => [
  route({
    method: "get",
    path: "/healthz",
    operationId: "health",
    summary: "Liveness: the process is serving",
    tags: ["operations"],
    access: "public",
    responses: { 200: { description: "Alive", schema: Health } },
    handle: () => Effect.succeed(json(200, { status: "ok", checks: {} }))
  }),
  route({
    method: "get",
    path: "/readyz",
    operationId: "ready",
    summary:
      "Readiness: every route serves (both WebSockets, the inference pool's models loaded), Postgres and the live store answer",
    tags: ["operations"],
    access: "public",
    responses: {
      200: { description: "Ready", schema: Health },
      503: { description: "Starting, shutting down, or a dependency is down", schema: Health }
    },
    handle: () =>
      Effect.gen(function* () {
        const phase = (yield* HttpServer).phase()
        const sessions =
          phase === "serving"
            ? { ok: true, ms: 0 }
            : {
                ok: false,
                ms: 0,
                error:
                  phase === "starting"
                    ? "starting: inference pool, candidate and live sockets not serving yet"
                    : "shutting down"
              }
        const live = yield* LiveStore
        const [database, liveStore] = yield* Effect.all([timed(Database.ping), timed(live.ping)], {
          concurrency: "unbounded"
        })
        const ok = sessions.ok && database.ok && liveStore.ok
        const status = phase === "serving" ? (ok ? "ok" : "unavailable") : phase
        return json(ok ? 200 : 503, { status, checks: { sessions, database, liveStore } })
      })
  }),
  route({
    method: "get",
    path: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics",
    tags: ["operations"],
    access: "public",
    responses: { 200: { description: "Prometheus text format", contentType: "text/plain" } },
    handle: () =>
      Effect.map(Metrics, (m) => ({
        status: 200,
        body: m.render(),
        contentType: "text/plain; version=0.0.4; charset=utf-8"
      }))
  }),
  route({
    method: "get",
    path: "/v1/openapi.json",
    operationId: "openapi",
    summary: "This API's OpenAPI 3.1 description",
    tags: ["operations"],
    access: "public",
    responses: { 200: { description: "OpenAPI document", contentType: "application/json" } },
    handle: () => Effect.sync(() => json(200, openApi()))
  }),
  route({
    method: "get",
    path: "/docs",
    operationId: "docs",
    summary: "Human-readable API reference",
    tags: ["operations"],
    access: "public",
    responses: { 200: { description: "HTML page", contentType: "text/html" } },
    handle: () =>
      Effect.succeed({
        status: 200,
        body: docsPage("/v1/openapi.json"),
        contentType: "text/html; charset=utf-8",
        headers: {
          "content-security-policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
        }
      })
  })
]
