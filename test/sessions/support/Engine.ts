/** Starts the whole engine (HTTP, live sessions, inference) in-process on a free port, with session overrides. */
import { Effect, Exit, Layer, Scope } from "effect"
import * as SessionConfig from "../../../src/actors/SessionConfig.ts"
import { AppConfig } from "../../../src/config.ts"
import { HttpServer, type ServerOptions } from "../../../src/http/Server.ts"
import { serverLayer } from "../../../src/main.ts"
import { seedDemo } from "../../../src/Seed.ts"
import { quiet } from "../../support/TestServer.ts"
import { consentToAll } from "../../support/Consent.ts"

export interface Seeded {
  readonly tenantId: string
  readonly apiKey: string
  readonly interviewId: string
  readonly candidateToken: string
}

export interface Engine {
  readonly url: string
  readonly wsUrl: string
  readonly run: <A, E>(effect: Effect.Effect<A, E, any>) => Promise<A>
  /** A demo tenant and interview whose candidate consented to data processing and affect analysis. */
  readonly seed: () => Promise<Seeded>
  /** The same without any consent recorded. */
  readonly seedWithoutConsent: () => Promise<Seeded>
  readonly close: () => Promise<void>
}

/** Light defaults for tests: one inference worker, short timers. */
export const testSessionSettings: Partial<SessionConfig.SessionSettings> = {
  pool: { workers: 1 },
  passivateAfterMs: 5_000,
  writeBehind: { ...SessionConfig.defaultSessionSettings.writeBehind, flushIntervalMs: 200, shutdownTimeoutMs: 10_000 }
}

/** How the engine is put together; tests with outages compose `httpLayer` and `liveLayer` themselves. */
export type Compose = (options: ServerOptions) => Layer.Layer<any, any, any>

export const startEngine = async (
  env: Record<string, string>,
  overrides: Partial<SessionConfig.SessionSettings> = {},
  wrap: (layer: Layer.Layer<any, any, any>) => Layer.Layer<any, any, any> = (l) => l,
  compose: Compose = serverLayer
): Promise<Engine> => {
  const scope = await Effect.runPromise(Scope.make())
  const layer = wrap(compose({ port: 0, host: "127.0.0.1" })).pipe(
    Layer.provide(SessionConfig.layer({ ...testSessionSettings, ...overrides })),
    Layer.provideMerge(
      AppConfig.layerFromRecord({ CANDOR_DATA_DIR: ".tmp/test-data", TOKEN_SECRET: "s".repeat(40), ...env })
    ),
    Layer.provideMerge(quiet)
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope) as Effect.Effect<any, unknown>)
  const server = Effect.runSync(
    Effect.provide(Effect.service(HttpServer), context) as Effect.Effect<HttpServer["Service"]>
  )
  const run = <A, E>(effect: Effect.Effect<A, E, any>) =>
    Effect.runPromise(Effect.provide(effect, context) as Effect.Effect<A, E>)
  return {
    url: server.url,
    wsUrl: server.url.replace(/^http/, "ws"),
    run,
    seed: async () => {
      const seeded = await run(seedDemo("Session tests"))
      await consentToAll(server.url, seeded)
      return seeded
    },
    seedWithoutConsent: () => run(seedDemo("Session tests")),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
