/** Starts the whole engine in-process on a free port for API tests, and stops it. */
import { Effect, Exit, Layer, Logger, References, Scope } from "effect"
import { AppConfig } from "../../src/config.ts"
import { HttpServer } from "../../src/http/Server.ts"
import { serverLayer } from "../../src/main.ts"
import { seedDemo } from "../../src/Seed.ts"

export interface TestServer {
  readonly url: string
  readonly run: <A, E>(effect: Effect.Effect<A, E, any>) => Promise<A>
  readonly seed: () => Promise<{ tenantId: string; apiKey: string; interviewId: string; candidateToken: string }>
  readonly close: () => Promise<void>
}

export const quiet = Layer.mergeAll(
  Layer.succeed(References.MinimumLogLevel, "Error"),
  Logger.layer([Logger.consolePretty({ colors: false })])
)

/**
 * The whole engine on `env`, with one inference worker unless `env` says otherwise (`INFERENCE_WORKERS`): every
 * worker loads the models, and no test through this helper measures throughput.
 */
export const startServer = (env: Record<string, string>): Promise<TestServer> =>
  startLayer(
    serverLayer({ port: 0, host: "127.0.0.1" }).pipe(
      Layer.provideMerge(
        AppConfig.layerFromRecord({ CANDOR_DATA_DIR: ".tmp/test-data", INFERENCE_WORKERS: "1", ...env })
      )
    ),
    "Test tenant"
  )

/** Builds an engine layer (one that provides `HttpServer`) in its own scope, quietly, and hands out its handle. */
export const startLayer = async (
  engine: Layer.Layer<HttpServer, unknown, never>,
  tenantName: string
): Promise<TestServer> => {
  const scope = await Effect.runPromise(Scope.make())
  const layer = engine.pipe(Layer.provideMerge(quiet))
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const server = Effect.runSync(Effect.provide(Effect.service(HttpServer), context))
  const run = <A, E>(effect: Effect.Effect<A, E, any>) =>
    Effect.runPromise(Effect.provide(effect, context) as Effect.Effect<A, E>)
  return {
    url: server.url,
    run,
    seed: () => run(seedDemo(tenantName)),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
