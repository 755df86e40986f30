/**
 * Candor's configuration: every environment variable the engine reads is declared here, once, with its default.
 * Secrets are `Redacted` so they never reach logs. A bad value stops start-up with a message naming the variable.
 */
import { Config, ConfigProvider, Context, Effect, Layer, Option, Redacted } from "effect"
import * as Path from "node:path"
import { defaultVideoSettings, type VideoSettings } from "./video/VideoSettings.ts"

export interface S3Settings {
  readonly endpoint: string | undefined
  readonly region: string
  readonly bucket: string
  readonly accessKeyId: Redacted.Redacted<string> | undefined
  readonly secretAccessKey: Redacted.Redacted<string> | undefined
  readonly forcePathStyle: boolean
  readonly prefix: string
}

export interface AppSettings {
  readonly host: string
  readonly port: number
  /** Base URL used in links handed to people (join links, report links); unset: the URL the server listens on. */
  readonly publicUrl: string | undefined
  readonly dataDir: string
  /** Postgres connection string; when absent the embedded PGlite database is used. */
  readonly databaseUrl: Redacted.Redacted<string> | undefined
  /** `:memory:` or a directory for the embedded database. */
  readonly pgliteDir: string
  readonly redisUrl: Redacted.Redacted<string> | undefined
  /** Prefix for every Redis key and channel, so several deployments (or test runs) can share one server. */
  readonly redisPrefix: string
  readonly s3: S3Settings | undefined
  readonly mediaDir: string
  /** Secret for candidate join tokens; generated and kept in the data directory when absent. */
  readonly tokenSecret: Redacted.Redacted<string> | undefined
  readonly joinTokenTtlSeconds: number
  /** How long a person stays signed in (default 12 h). */
  readonly sessionTtlSeconds: number
  /** How long an address is locked after repeated failed sign-ins (default 15 min). */
  readonly signInLockSeconds: number
  readonly maxBodyBytes: number
  readonly requestTimeoutSeconds: number
  readonly logLevel: "Trace" | "Debug" | "Info" | "Warn" | "Error" | "None"
  /** Print (and create on first start) a demo tenant key on embedded defaults. */
  readonly demo: boolean
  /** Inference pool knobs; unset ones keep the pool's measured defaults. */
  readonly inference: InferenceSettings
  /** Frames per second one candidate socket may send; unset keeps the session default (15). */
  readonly candidateMaxFps: number | undefined
  /** Seconds between retention sweeps (interviews past their tenant's retention are erased); 0: no sweeps. */
  readonly retentionSweepSeconds: number
  /**
   * How far each JavaScript heap may grow past what a full collection left, in percent; 0 leaves it to V8 (see
   * `applyHeapGrowth` in cli/Serve.ts).
   */
  readonly heapGrowingPercent: number
  /** Uploaded-video analysis: size and length limits, frame rate, deadline, the ffmpeg binary. */
  readonly video: VideoSettings
  /** Minutes without a candidate socket after which a started, unfinished interview is marked abandoned. */
  readonly abandonAfterMinutes: number
  /** Seconds between sweeps for abandoned interviews; 0: none. */
  readonly abandonSweepSeconds: number
  /** How often an idle engine looks for due jobs (enqueueing in this engine wakes it at once). */
  readonly jobPollMs: number
  /** Jobs one engine runs at once. */
  readonly jobConcurrency: number
  readonly webhooks: WebhookEnv
  /** Cluster mode (`CLUSTER_RUNNER_ADDRESS` set): sessions are effect/cluster entities sharded over Postgres. */
  readonly cluster: ClusterSettings | undefined
  /** Largest recording of one answer (recorded-mode interviews). */
  readonly recordingMaxBytes: number
}

/** Webhook delivery settings read from the environment (the rest keep their defaults). */
export interface RunnerAddressSetting {
  readonly host: string
  readonly port: number
}

export interface ClusterSettings {
  /** This node's runner address, as the other nodes reach it. */
  readonly runnerAddress: RunnerAddressSetting
  /** Where the runner server listens (default: the runner address). */
  readonly listenAddress: RunnerAddressSetting
  /** Shards per group; the same on every node. */
  readonly shards: number
  /**
   * How long a runner that stopped answering but still holds its database session (frozen, cut off) keeps its
   * shards; shard-lock statements get a third of it before a runner counts its locks as lost.
   */
  readonly failoverSeconds: number
}

export interface WebhookEnv {
  /** Allow webhook targets in private, loopback and link-local networks (server-side request forgery guard off). */
  readonly allowPrivateNetworks: boolean
  /** Deadline of one delivery attempt. */
  readonly timeoutMs: number
  /** Delay before the first retry of a failed delivery; later ones about double. */
  readonly firstRetryMs: number
  /** How long a failing delivery is retried before it fails for good. */
  readonly giveUpAfterMs: number
}

export interface InferenceSettings {
  readonly workers?: number
  readonly maxBatch?: number
  readonly maxDelayMs?: number
  readonly maxQueue?: number
  readonly detectEvery?: number
  readonly emotionEvery?: number
  readonly maxFaces?: number
  readonly maxPixels?: number
  readonly taskTimeoutMs?: number
  readonly decoder?: "turbo" | "sharp"
}

const optionalString = (name: string) =>
  Config.String(name).pipe(
    Config.option,
    Config.map(Option.filter((s) => s.trim() !== "")),
    Config.map(Option.getOrUndefined)
  )

const optionalRedacted = (name: string) =>
  Config.Redacted(name).pipe(
    Config.option,
    Config.map(Option.filter((s) => Redacted.value(s).trim() !== "")),
    Config.map(Option.getOrUndefined)
  )

/** A validation failure reported the way Effect reports its own: the variable, then what it expects. */
const invalid = (name: string, expected: string) =>
  Effect.fail(new Config.ConfigError(new ConfigProvider.SourceError({ message: `${name}: ${expected}` })))

const positiveInt = (name: string, fallback: number) =>
  Config.Int(name).pipe(
    Config.withDefault(fallback),
    Config.mapEffect((n) => (n > 0 ? Effect.succeed(n) : invalid(name, `expected a positive integer, got ${n}`)))
  )

/** `host:port` (an IPv6 host in brackets: `[::1]:34431`), optional. */
const runnerAddress = (name: string) =>
  optionalString(name).pipe(
    Config.mapEffect((value): Effect.Effect<RunnerAddressSetting | undefined, Config.ConfigError> => {
      if (value === undefined) return Effect.succeed(undefined)
      const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/u.exec(value.trim())
      const port = match === null ? 0 : Number(match[2])
      if (match === null || port < 1 || port > 65535)
        return invalid(name, `expected host:port (for example 10.0.0.5:34431), got ${JSON.stringify(value)}`)
      return Effect.succeed({ host: match[1]!.replace(/^\[(.*)\]$/u, "$1"), port })
    })
  )

const optionalPositiveInt = (name: string, min = 1) =>
  Config.Int(name).pipe(
    Config.option,
    Config.map(Option.getOrUndefined),
    Config.mapEffect((n) =>
      n === undefined || n >= min
        ? Effect.succeed(n)
        : invalid(name, `expected an integer of at least ${min}, got ${n}`)
    )
  )

const urlWithScheme = (name: string, schemes: ReadonlyArray<string>) =>
  optionalRedacted(name).pipe(
    Config.mapEffect((value) => {
      if (value === undefined) return Effect.succeed(undefined)
      try {
        const url = new URL(Redacted.value(value))
        if (schemes.includes(url.protocol)) return Effect.succeed(value)
      } catch {
        // fall through to the explanation below
      }
      return invalid(name, `expected a URL starting with ${schemes.map((s) => `${s}//`).join(" or ")}`)
    })
  )

/** Reads and validates every setting. */
export const settingsConfig: Config.Config<AppSettings> = Config.all({
  host: Config.String("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.Port("PORT").pipe(Config.withDefault(8080)),
  publicUrl: optionalString("PUBLIC_URL"),
  dataDir: Config.String("CANDOR_DATA_DIR").pipe(Config.withDefault(".candor")),
  databaseUrl: urlWithScheme("DATABASE_URL", ["postgres:", "postgresql:"]),
  pgliteDir: optionalString("PGLITE_DIR"),
  redisUrl: urlWithScheme("REDIS_URL", ["redis:", "rediss:"]),
  redisPrefix: Config.String("REDIS_PREFIX").pipe(Config.withDefault("candor:")),
  s3Bucket: optionalString("S3_BUCKET"),
  s3Endpoint: optionalString("S3_ENDPOINT"),
  s3Region: Config.String("S3_REGION").pipe(Config.withDefault("us-east-1")),
  s3AccessKeyId: optionalRedacted("S3_ACCESS_KEY_ID"),
  s3SecretAccessKey: optionalRedacted("S3_SECRET_ACCESS_KEY"),
  s3ForcePathStyle: Config.Boolean("S3_FORCE_PATH_STYLE").pipe(Config.withDefault(false)),
  s3Prefix: Config.String("S3_PREFIX").pipe(Config.withDefault("")),
  mediaDir: optionalString("MEDIA_DIR"),
  tokenSecret: optionalRedacted("TOKEN_SECRET").pipe(
    Config.mapEffect((secret) =>
      secret === undefined || Redacted.value(secret).length >= 32
        ? Effect.succeed(secret)
        : invalid("TOKEN_SECRET", "expected at least 32 characters")
    )
  ),
  joinTokenTtlSeconds: positiveInt("JOIN_TOKEN_TTL_SECONDS", 7 * 24 * 3600),
  sessionTtlSeconds: positiveInt("SESSION_TTL_SECONDS", 12 * 3600),
  signInLockSeconds: positiveInt("SIGN_IN_LOCK_SECONDS", 15 * 60),
  maxBodyBytes: positiveInt("MAX_BODY_BYTES", 1024 * 1024),
  requestTimeoutSeconds: positiveInt("REQUEST_TIMEOUT_SECONDS", 30),
  logLevel: Config.Literals(["Trace", "Debug", "Info", "Warn", "Error", "None"], "LOG_LEVEL").pipe(
    Config.withDefault("Info" as const)
  ),
  demo: Config.Boolean("CANDOR_DEMO").pipe(Config.option, Config.map(Option.getOrUndefined)),
  workers: optionalPositiveInt("INFERENCE_WORKERS"),
  maxBatch: optionalPositiveInt("INFERENCE_MAX_BATCH"),
  maxDelayMs: optionalPositiveInt("INFERENCE_MAX_DELAY_MS", 0),
  maxQueue: optionalPositiveInt("INFERENCE_MAX_QUEUE"),
  detectEvery: optionalPositiveInt("DETECT_EVERY"),
  emotionEvery: optionalPositiveInt("EMOTION_EVERY"),
  maxFaces: optionalPositiveInt("MAX_FACES"),
  maxPixels: optionalPositiveInt("MAX_IMAGE_PIXELS"),
  taskTimeoutMs: optionalPositiveInt("INFERENCE_TASK_TIMEOUT_MS"),
  decoder: Config.Literals(["turbo", "sharp"], "INFERENCE_DECODER").pipe(
    Config.option,
    Config.map(Option.getOrUndefined)
  ),
  candidateMaxFps: optionalPositiveInt("CANDIDATE_MAX_FPS"),
  recordingMaxBytes: positiveInt("RECORDING_MAX_BYTES", 100 * 1024 * 1024),
  heapGrowingPercent: Config.Int("HEAP_GROWING_PERCENT").pipe(
    Config.withDefault(100),
    Config.mapEffect((n) =>
      n >= 0 && n <= 400
        ? Effect.succeed(n)
        : invalid("HEAP_GROWING_PERCENT", `expected a percentage from 0 (V8's own choice) to 400, got ${n}`)
    )
  ),
  retentionSweepSeconds: Config.Int("RETENTION_SWEEP_SECONDS").pipe(
    Config.withDefault(60),
    Config.mapEffect((n) =>
      n >= 0 ? Effect.succeed(n) : invalid("RETENTION_SWEEP_SECONDS", `expected 0 or more seconds, got ${n}`)
    )
  ),
  videoMaxBytes: positiveInt("VIDEO_MAX_BYTES", defaultVideoSettings.maxBytes),
  videoFps: positiveInt("VIDEO_ANALYSIS_FPS", defaultVideoSettings.fps),
  videoMaxSeconds: positiveInt("VIDEO_MAX_SECONDS", defaultVideoSettings.maxSeconds),
  videoTimeoutSeconds: positiveInt("VIDEO_TIMEOUT_SECONDS", defaultVideoSettings.timeoutMs / 1000),
  ffmpegPath: optionalString("FFMPEG_PATH"),
  abandonAfterMinutes: Config.Number("ABANDON_AFTER_MINUTES").pipe(
    Config.withDefault(30),
    Config.mapEffect((n) =>
      n > 0 ? Effect.succeed(n) : invalid("ABANDON_AFTER_MINUTES", `expected more than 0 minutes, got ${n}`)
    )
  ),
  abandonSweepSeconds: Config.Int("ABANDON_SWEEP_SECONDS").pipe(
    Config.withDefault(60),
    Config.mapEffect((n) =>
      n >= 0 ? Effect.succeed(n) : invalid("ABANDON_SWEEP_SECONDS", `expected 0 or more seconds, got ${n}`)
    )
  ),
  jobPollMs: optionalPositiveInt("JOB_POLL_MS", 10),
  jobConcurrency: optionalPositiveInt("JOB_CONCURRENCY"),
  webhookAllowPrivate: Config.Boolean("WEBHOOK_ALLOW_PRIVATE_NETWORKS").pipe(Config.withDefault(false)),
  webhookTimeoutMs: positiveInt("WEBHOOK_TIMEOUT_MS", 10_000),
  webhookFirstRetryMs: positiveInt("WEBHOOK_FIRST_RETRY_MS", 5_000),
  webhookRetryHours: positiveInt("WEBHOOK_RETRY_HOURS", 24),
  clusterRunnerAddress: runnerAddress("CLUSTER_RUNNER_ADDRESS"),
  clusterListenAddress: runnerAddress("CLUSTER_LISTEN_ADDRESS"),
  clusterShards: positiveInt("CLUSTER_SHARDS", 300),
  clusterFailoverSeconds: Config.Int("CLUSTER_FAILOVER_SECONDS").pipe(
    Config.withDefault(9),
    Config.mapEffect((n) =>
      n >= 3 ? Effect.succeed(n) : invalid("CLUSTER_FAILOVER_SECONDS", `expected 3 seconds or more, got ${n}`)
    )
  )
}).pipe(
  Config.mapEffect((raw) => {
    if (raw.clusterRunnerAddress === undefined) {
      if (raw.clusterListenAddress !== undefined)
        return invalid("CLUSTER_LISTEN_ADDRESS", "set CLUSTER_RUNNER_ADDRESS too (cluster mode)")
      return Effect.succeed(raw)
    }
    if (raw.databaseUrl === undefined)
      return invalid("CLUSTER_RUNNER_ADDRESS", "cluster mode needs DATABASE_URL (shards are owned through Postgres)")
    if (raw.redisUrl === undefined)
      return invalid("CLUSTER_RUNNER_ADDRESS", "cluster mode needs REDIS_URL (the live view spans every node)")
    return Effect.succeed(raw)
  }),
  Config.map((raw): AppSettings => {
    const dataDir = Path.resolve(raw.dataDir)
    const s3: S3Settings | undefined =
      raw.s3Bucket === undefined
        ? undefined
        : {
            bucket: raw.s3Bucket,
            endpoint: raw.s3Endpoint,
            region: raw.s3Region,
            accessKeyId: raw.s3AccessKeyId,
            secretAccessKey: raw.s3SecretAccessKey,
            forcePathStyle: raw.s3ForcePathStyle,
            prefix: raw.s3Prefix
          }
    const embedded = raw.databaseUrl === undefined
    return {
      host: raw.host,
      port: raw.port,
      publicUrl: raw.publicUrl?.replace(/\/+$/, ""),
      dataDir,
      databaseUrl: raw.databaseUrl,
      pgliteDir: raw.pgliteDir === ":memory:" ? ":memory:" : Path.resolve(raw.pgliteDir ?? Path.join(dataDir, "pg")),
      redisUrl: raw.redisUrl,
      redisPrefix: raw.redisPrefix,
      s3,
      mediaDir: Path.resolve(raw.mediaDir ?? Path.join(dataDir, "media")),
      tokenSecret: raw.tokenSecret,
      joinTokenTtlSeconds: raw.joinTokenTtlSeconds,
      sessionTtlSeconds: raw.sessionTtlSeconds,
      signInLockSeconds: raw.signInLockSeconds,
      maxBodyBytes: raw.maxBodyBytes,
      requestTimeoutSeconds: raw.requestTimeoutSeconds,
      logLevel: raw.logLevel,
      demo: raw.demo ?? embedded,
      inference: Object.fromEntries(
        Object.entries({
          workers: raw.workers,
          maxBatch: raw.maxBatch,
          maxDelayMs: raw.maxDelayMs,
          maxQueue: raw.maxQueue,
          detectEvery: raw.detectEvery,
          emotionEvery: raw.emotionEvery,
          maxFaces: raw.maxFaces,
          maxPixels: raw.maxPixels,
          taskTimeoutMs: raw.taskTimeoutMs,
          decoder: raw.decoder
        }).filter(([, v]) => v !== undefined)
      ) as InferenceSettings,
      candidateMaxFps: raw.candidateMaxFps,
      retentionSweepSeconds: raw.retentionSweepSeconds,
      heapGrowingPercent: raw.heapGrowingPercent,
      video: {
        ...defaultVideoSettings,
        maxBytes: raw.videoMaxBytes,
        fps: raw.videoFps,
        maxSeconds: raw.videoMaxSeconds,
        timeoutMs: raw.videoTimeoutSeconds * 1000,
        ffmpegPath: raw.ffmpegPath
      },
      abandonAfterMinutes: raw.abandonAfterMinutes,
      abandonSweepSeconds: raw.abandonSweepSeconds,
      jobPollMs: raw.jobPollMs ?? 1000,
      jobConcurrency: raw.jobConcurrency ?? 2,
      recordingMaxBytes: raw.recordingMaxBytes,
      webhooks: {
        allowPrivateNetworks: raw.webhookAllowPrivate,
        timeoutMs: raw.webhookTimeoutMs,
        firstRetryMs: raw.webhookFirstRetryMs,
        giveUpAfterMs: raw.webhookRetryHours * 3_600_000
      },
      cluster:
        raw.clusterRunnerAddress === undefined
          ? undefined
          : {
              runnerAddress: raw.clusterRunnerAddress,
              listenAddress: raw.clusterListenAddress ?? raw.clusterRunnerAddress,
              shards: raw.clusterShards,
              failoverSeconds: raw.clusterFailoverSeconds
            }
    }
  })
)

/** The validated settings of this process. */
export class AppConfig extends Context.Service<AppConfig, AppSettings>()("candor/AppConfig") {
  /** Settings from the process environment. */
  static readonly layerFromEnv = Layer.effect(AppConfig, settingsConfig)

  /** Settings from a plain record, as the environment would give them (tests, embedded use). */
  static readonly layerFromRecord = (env: Record<string, string | undefined>) =>
    Layer.effect(AppConfig, settingsConfig).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))))
}

/** Where the settings came from, safe to log: secrets appear only as `<redacted>`. */
export const describeSettings = (s: AppSettings): Record<string, unknown> => ({
  listen: `${s.host}:${s.port}`,
  publicUrl: s.publicUrl ?? "(the listening address)",
  database: s.databaseUrl === undefined ? `embedded PGlite (${s.pgliteDir})` : String(s.databaseUrl),
  live: s.redisUrl === undefined ? "in-process" : String(s.redisUrl),
  media: s.s3 === undefined ? `disk (${s.mediaDir})` : `s3://${s.s3.bucket}/${s.s3.prefix}`
})
