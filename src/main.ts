/**
 * Composition root: which implementation of each service runs, wired into one Layer. Nothing here does work of
 * its own; `candor serve` launches `serverLayer`, tests build it with their own config.
 */
import { Context, Effect, Layer } from "effect"
import { SessionConfig, layer as SessionConfigLayer } from "./actors/SessionConfig.ts"
import { ReportLinks } from "./actors/ReportLinks.ts"
import { LocalSessions, SessionRegistry } from "./actors/SessionRegistry.ts"
import * as ClusterLayer from "./cluster/ClusterLayer.ts"
import * as ClusterSessions from "./cluster/ClusterSessions.ts"
import * as SessionOwner from "./cluster/SessionOwner.ts"
import { AppConfig, type ClusterSettings } from "./config.ts"
import { CandidateSocket } from "./http/CandidateSocket.ts"
import { JoinTokens } from "./http/JoinTokens.ts"
import { makeOpenApi } from "./http/OpenApi.ts"
import { LiveSocket } from "./http/LiveSocket.ts"
import type { Route } from "./http/Route.ts"
import { adminRoutesWith } from "./http/routes/AdminRoutes.ts"
import { auditRoutes } from "./http/routes/AuditRoutes.ts"
import { candidateRoutes } from "./http/routes/CandidateRoutes.ts"
import { consentRoutes } from "./http/routes/ConsentRoutes.ts"
import { interviewRoutes } from "./http/routes/InterviewRoutes.ts"
import { pageRoutes } from "./http/routes/PageRoutes.ts"
import { jobRoutes } from "./http/routes/JobRoutes.ts"
import { recordingRoutes } from "./http/routes/RecordingRoutes.ts"
import { joinUrl } from "./http/PublicUrls.ts"
import { sessionRoutes } from "./http/routes/SessionRoutes.ts"
import { systemRoutes } from "./http/routes/SystemRoutes.ts"
import { tenantRoutes } from "./http/routes/TenantRoutes.ts"
import { userRoutes } from "./http/routes/UserRoutes.ts"
import { videoRoutesWith } from "./http/routes/VideoRoutes.ts"
import { webhookRoutes } from "./http/routes/WebhookRoutes.ts"
import { AdminToken, HttpRoutes, HttpServer, layer as serverLayerOf, type ServerOptions } from "./http/Server.ts"
import { layerWithModels as inferencePoolLayer } from "./inference/InferencePool.ts"
import { eventLoopDelayLayer, Metrics } from "./Metrics.ts"
import { KeyframeSink } from "./pipeline/KeyframeSink.ts"
import { LiveSink } from "./pipeline/LiveSink.ts"
import { reportRoutes } from "./http/routes/ReportRoutes.ts"
import { RecordingUploads } from "./recordings/RecordingUploads.ts"
import { reportsLayer } from "./reports/Reports.ts"
import { Erasure } from "./retention/Erasure.ts"
import { Retention } from "./retention/Retention.ts"
import { JobHandlersLive } from "./jobs/handlers.ts"
import { JobRunner, JobsLive, JobWake } from "./jobs/JobRunner.ts"
import { IdleInterviewsSweep } from "./store/IdleInterviews.ts"
import { seedDemo } from "./Seed.ts"
import { AuditLog } from "./store/AuditLog.ts"
import { ClusterMessages } from "./store/ClusterMessages.ts"
import * as Database from "./store/Database.ts"
import * as EmbeddedLock from "./store/EmbeddedLock.ts"
import { Erasures } from "./store/Erasures.ts"
import { Interviews } from "./store/Interviews.ts"
import { LiveStore } from "./store/LiveStore.ts"
import { MediaStore } from "./store/MediaStore.ts"
import { SessionSnapshots } from "./store/SessionSnapshots.ts"
import { SessionWriter } from "./store/SessionWrites.ts"
import { Tenants } from "./store/Tenants.ts"
import { Users } from "./store/Users.ts"
import { VideoAnalyses } from "./store/VideoAnalyses.ts"
import { Webhooks } from "./store/Webhooks.ts"
import { WriteBehind } from "./store/WriteBehind.ts"
import { VERSION } from "./Version.ts"
import { VideoConfig } from "./video/VideoSettings.ts"
import { DeliveryWorker, defaultWebhookSettings } from "./webhooks/DeliveryWorker.ts"

/** Repositories over the configured database, migrated. */
export const storageLayer = Layer.mergeAll(Erasures.layer, Webhooks.layer).pipe(
  Layer.provideMerge(Layer.mergeAll(Tenants.layer, Users.layer, Interviews.layer, AuditLog.layer, VideoAnalyses.layer)),
  Layer.provideMerge(Database.layer)
)

/** Every service the engine runs on; the metric registry first, so that storage can report to it. */
export const servicesLayer = Layer.mergeAll(
  storageLayer,
  LiveStore.layer,
  MediaStore.layer,
  JoinTokens.layer,
  Layer.effect(
    VideoConfig,
    Effect.map(AppConfig, (config) => config.video)
  )
).pipe(Layer.provideMerge(Metrics.layer))

/** Records the server's URL in the embedded-database lock once it listens. */
class Publisher extends Context.Service<Publisher, (url: string) => void>()("candor/LockPublisher") {}

/** Takes the embedded-database lock (when PGlite runs on disk) and exposes the admin token. */
const lockLayer = Layer.effectContext(
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (config.databaseUrl === undefined && config.pgliteDir !== ":memory:") {
      const lock = yield* EmbeddedLock.acquire(config.dataDir)
      return { adminToken: lock.info.adminToken, publish: lock.publish }
    }
    return { adminToken: crypto.randomUUID(), publish: (_: string) => {} }
  }).pipe(
    Effect.map((handle) => Context.make(AdminToken, handle.adminToken).pipe(Context.add(Publisher, handle.publish)))
  )
)

const routesLayer = Layer.effect(
  HttpRoutes,
  Effect.map(AppConfig, (config) => {
    const routes: Array<Route> = []
    let doc: unknown
    const openApi = () =>
      (doc ??= makeOpenApi(
        routes,
        {
          title: "Candor API",
          version: VERSION,
          description:
            "Real-time interview analysis. Recruiters create interviews and read reports; candidates stream over WebSocket. Affect signals (emotion, blinks) follow the tenant's policy and are always off for EU tenants; a person makes the hiring decision."
        },
        config.publicUrl ?? `http://${config.host}:${config.port}`
      ))
    routes.push(
      ...interviewRoutes,
      ...reportRoutes,
      ...consentRoutes,
      ...candidateRoutes,
      ...recordingRoutes,
      ...pageRoutes,
      ...jobRoutes,
      ...tenantRoutes,
      ...auditRoutes,
      ...webhookRoutes,
      ...userRoutes,
      ...videoRoutesWith({ maxBytes: config.video.maxBytes }),
      ...sessionRoutes,
      ...systemRoutes(openApi),
      ...adminRoutesWith({ seed: seedDemo })
    )
    return routes
  })
)

/**
 * The HTTP server with every route and service, without live sessions (it serves only operational routes until
 * `liveLayer` is built on it). `reports` replaces the answers-to-report feature's settings (tests). Requires
 * `AppConfig`.
 */
export const httpLayer = (options: ServerOptions = {}, reports: typeof reportsLayer = reportsLayer) =>
  serverLayerOf(options).pipe(
    Layer.provideMerge(routesLayer),
    // Scoring workers stop before the database closes.
    Layer.provideMerge(reports),
    Layer.provideMerge(RecordingUploads.layer),
    Layer.provideMerge(servicesLayer),
    Layer.provideMerge(lockLayer)
  )

/**
 * Cluster mode: sessions are entities sharded over Postgres. Torn down in reverse: the router, then the entities
 * owned here (their actors stop with a final write), then the runner (its shards handed on), then local actors.
 */
const clusterSessionsLayer = (cluster: ClusterSettings) =>
  ClusterSessions.layer.pipe(
    Layer.provideMerge(ClusterLayer.metricsLayer),
    Layer.provideMerge(SessionOwner.layer({ maxIdleTime: "2 minutes" })),
    Layer.provideMerge(ClusterLayer.layer(cluster)),
    Layer.provideMerge(Layer.mergeAll(LocalSessions.layer, ClusterMessages.layer))
  )

/** The local registry on one node; the cluster's router when `CLUSTER_RUNNER_ADDRESS` is set. */
const sessionsLayer = Layer.unwrap(
  Effect.map(AppConfig, (config) =>
    config.cluster === undefined ? SessionRegistry.layer : clusterSessionsLayer(config.cluster)
  )
)

/**
 * Live interview sessions: candidate and recruiter WebSockets, one actor per interview, the inference pool and
 * the sinks (write-behind, live view, keyframes). Settings come from `SessionConfig` (defaults unless provided).
 * Built after the HTTP server, so on shutdown sessions are flushed before the server closes its sockets.
 */
/**
 * Serves every route once everything below it is built (models loaded, both WebSockets registered): `/readyz`
 * turns 200 from here on. Built last, so on shutdown it is released first: the server stops serving and says so.
 */
const openLayer = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* HttpServer
    const context = yield* Effect.context<never>()
    yield* Effect.acquireRelease(
      Effect.sync(() => server.open(context)),
      () => Effect.sync(server.drain)
    )
  })
)

export const liveLayer = openLayer.pipe(
  Layer.provideMerge(Layer.mergeAll(CandidateSocket.layer, LiveSocket.layer, eventLoopDelayLayer)),
  // Durable jobs (sweeps, uploads' analyses) run once sessions exist, and are interrupted first on shutdown.
  Layer.provideMerge(JobRunner),
  Layer.provideMerge(Layer.mergeAll(JobHandlersLive, IdleInterviewsSweep.layer)),
  Layer.provideMerge(JobsLive),
  Layer.provideMerge(JobWake.layer),
  // Webhook deliveries go out from every engine; stopped (claims handed back) before the database closes.
  Layer.provideMerge(
    Layer.unwrap(
      Effect.map(AppConfig, (c) => DeliveryWorker.layerWithWorkers({ ...defaultWebhookSettings, ...c.webhooks }))
    )
  ),
  // Erasure (on request and by retention sweeps) stops the interview's live session first.
  Layer.provideMerge(Retention.layer()),
  Layer.provideMerge(Erasure.layer),
  Layer.provideMerge(sessionsLayer),
  Layer.provideMerge(
    Layer.effect(
      ReportLinks,
      Effect.map(HttpServer, (server) => (id: string) => `${server.publicUrl}/v1/interviews/${id}/report`)
    )
  ),
  Layer.provideMerge(
    Layer.mergeAll(
      KeyframeSink.layer,
      Layer.unwrap(Effect.map(SessionConfig, (s) => LiveSink.layer({ ttlSeconds: s.liveTtlSeconds })))
    )
  ),
  Layer.provideMerge(Layer.unwrap(Effect.map(SessionConfig, (s) => WriteBehind.layer(s.writeBehind)))),
  Layer.provideMerge(
    Layer.mergeAll(
      SessionWriter.layer,
      SessionSnapshots.layer,
      Layer.unwrap(Effect.map(SessionConfig, (s) => inferencePoolLayer(s.pool)))
    )
  )
)

/** Session settings from the environment (`INFERENCE_*`, `DETECT_EVERY`, `CANDIDATE_MAX_FPS`, …) over the defaults. */
const sessionConfigLayer = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* AppConfig
    // Settings provided from outside (tests, benchmarks) stay; variables that are set replace theirs.
    const base = yield* SessionConfig
    return SessionConfigLayer({
      ...base,
      ...(config.candidateMaxFps === undefined ? {} : { maxFps: config.candidateMaxFps }),
      pool: { ...base.pool, ...config.inference }
    })
  })
)

/** The engine: HTTP server with every route and service, and live sessions. Requires `AppConfig`. */
export const serverLayer = (options: ServerOptions = {}, reports: typeof reportsLayer = reportsLayer) =>
  liveLayer.pipe(Layer.provideMerge(sessionConfigLayer), Layer.provideMerge(httpLayer(options, reports)))

/** Startup chores once the server listens: record its URL in the lock, and create the demo tenant on first start. */
export const announce = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* HttpServer
    const config = yield* AppConfig
    const publish = yield* Publisher
    publish(server.url)
    yield* Effect.logInfo(`Candor listening on ${server.url} (docs: ${server.url}/docs)`)
    if (config.demo) {
      if (!(yield* Effect.flatMap(Tenants, (t) => t.any))) {
        const demo = yield* seedDemo()
        yield* Effect.sync(() =>
          console.log(
            [
              "Demo tenant created (first start on embedded defaults):",
              `  API key:           ${demo.apiKey}`,
              `  interview:         ${demo.interviewId}`,
              `  candidate token:   ${demo.candidateToken}`,
              `  recruiter console: ${server.publicUrl}/ (sign in with the API key)`,
              `  candidate page:    ${joinUrl(server.publicUrl, demo.interviewId, demo.candidateToken)}`,
              `  try: curl -H 'authorization: Bearer ${demo.apiKey}' ${server.url}/v1/interviews`
            ].join("\n")
          )
        )
      }
    }
  })
)
