/**
 * The engine with the answers-to-report feature added (its routes and layer), on a free port, for the report
 * tests. Mirrors `TestServer.startServer`, composing the same services plus `reportsLayerWith`.
 */
import { Effect, Layer } from "effect"
import { type AnswersConfig, makeAnswersConfig } from "../../src/answers/AnswersConfig.ts"
import { AppConfig } from "../../src/config.ts"
import { makeOpenApi } from "../../src/http/OpenApi.ts"
import type { Route } from "../../src/http/Route.ts"
import { interviewRoutes } from "../../src/http/routes/InterviewRoutes.ts"
import { reportRoutes } from "../../src/http/routes/ReportRoutes.ts"
import { systemRoutes } from "../../src/http/routes/SystemRoutes.ts"
import { AdminToken, HttpRoutes, layer as serverLayerOf } from "../../src/http/Server.ts"
import { servicesLayer } from "../../src/main.ts"
import { type ReportsOptions, reportsLayerWith } from "../../src/reports/Reports.ts"
import { startLayer, type TestServer } from "./TestServer.ts"

export const routesLayer = Layer.effect(
  HttpRoutes,
  Effect.sync(() => {
    const routes: Array<Route> = []
    let doc: unknown
    const openApi = () =>
      (doc ??= makeOpenApi(routes, { title: "Candor API", version: "test", description: "test" }, "http://127.0.0.1"))
    routes.push(...interviewRoutes, ...reportRoutes, ...systemRoutes(openApi))
    return routes
  })
)

/** Offline scoring (no keys) unless `answers` says otherwise. */
export const startReportsServer = (
  env: Record<string, string>,
  answers: AnswersConfig = makeAnswersConfig({ apiKeys: [] }),
  options: ReportsOptions = {}
): Promise<TestServer> =>
  startLayer(
    serverLayerOf({ port: 0, host: "127.0.0.1" }).pipe(
      Layer.provideMerge(routesLayer),
      Layer.provideMerge(
        reportsLayerWith(answers, { vision: null, ...options, scoring: { pollIntervalMs: 50, ...options.scoring } })
      ),
      Layer.provideMerge(servicesLayer),
      Layer.provideMerge(Layer.succeed(AdminToken, crypto.randomUUID())),
      Layer.provideMerge(
        AppConfig.layerFromRecord({ CANDOR_DATA_DIR: ".tmp/test-data", TOKEN_SECRET: "r".repeat(40), ...env })
      )
    ),
    "Report test tenant"
  )
