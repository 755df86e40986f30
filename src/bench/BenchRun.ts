/**
 * One `candor bench` run: prepares the frames, measures the model-only bound, then runs the requested phases
 * one after another (never two at once: they share the cores) and gathers their results.
 */
import { cpus, loadavg, totalmem } from "node:os"
import { defaultOptions } from "../inference/InferencePool.ts"
import { FRAME_HEIGHT, FRAME_WIDTH, loadClips } from "./BenchFrames.ts"
import { type BenchOptions, redactOptions } from "./BenchOptions.ts"
import { type BenchResults, efficiencyOf, type EngineVariantRun, type Machine } from "./BenchResults.ts"
import { runClusterOverhead } from "./ClusterOverhead.ts"
import { EngineVariants } from "./EngineVariants.ts"
import { type Engine, remoteEngine, startEngine } from "./EngineUnderTest.ts"
import { type LoadRunResult, type PhaseContext, runFindMax, runIdle, runPaced, runSaturate } from "./LoadPhases.ts"
import { measureModelBound } from "./ModelBound.ts"
import { runPeerComparison } from "./PeerComparison.ts"
import { runPipelineInProcess } from "./PoolRunner.ts"
import { summarizeProfiles } from "./ProfileSummary.ts"
import { createThrowawayDatabase } from "./ThrowawayDatabase.ts"
import { createThrowawayPrefix } from "./ThrowawayRedis.ts"

export const machine = (): Machine => ({
  cpu: cpus()[0]?.model.trim() ?? "unknown",
  cores: cpus().length,
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  loadAverage: Math.round(loadavg()[0]! * 100) / 100
})

interface OpenEngine {
  readonly engine: Engine
  readonly database: string
  readonly close: () => Promise<void>
}

/** Starts an engine (on a throw-away database when asked), or names the remote one; `close` undoes it all. */
const openEngine = async (
  options: BenchOptions,
  session?: Readonly<Record<string, unknown>>,
  profileDir?: string
): Promise<OpenEngine> => {
  if (options.url !== undefined) {
    const nodes = options.urls.length
    return {
      engine: remoteEngine(options.urls, options.apiKey!),
      database: nodes > 1 ? `remote, ${nodes} nodes` : "remote",
      close: async () => {}
    }
  }
  const db = options.databaseUrl === undefined ? undefined : await createThrowawayDatabase(options.databaseUrl)
  const redis = options.redisUrl === undefined ? undefined : createThrowawayPrefix(options.redisUrl)
  const dropAll = async () => {
    await Promise.allSettled([db?.drop(), redis?.drop()])
  }
  try {
    const env = {
      ...(db === undefined ? {} : { DATABASE_URL: db.url }),
      ...(redis === undefined ? {} : { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix })
    }
    const engine = await startEngine({ env, session, profileDir })
    let closing: Promise<void> | undefined
    return {
      engine,
      database: `${db === undefined ? "embedded PGlite" : "PostgreSQL (throw-away database)"}${redis === undefined ? "" : ", Redis"}`,
      // Idempotent: the normal path and the clean-up path may both call it.
      close: () =>
        (closing ??= (async () => {
          await engine.stop()
          await dropAll()
        })())
    }
  } catch (error) {
    await dropAll()
    throw error
  }
}

const withEngine = async <A>(
  options: BenchOptions,
  session: Readonly<Record<string, unknown>>,
  f: (engine: Engine, database: string) => Promise<A>
): Promise<A> => {
  const open = await openEngine(options, session)
  try {
    return await f(open.engine, open.database)
  } finally {
    await open.close()
  }
}

/**
 * Candidates in a saturation run: enough closed-loop streams to keep every core's worker fed. Each candidate is
 * held to the session's `maxFps` (15 by default), so 24 per core offer 360 frames/s per core, above what a core
 * analyses (8 per core did not saturate once a frame cost under 4 ms).
 */
const saturationSessions = (options: BenchOptions) => (options.smoke ? 4 : 24 * options.cores)

export const runBench = async (
  options: BenchOptions,
  command: string,
  log: (line: string) => void
): Promise<BenchResults> => {
  const started = Date.now()
  const warnings: Array<string> = []
  const host = machine()
  if (host.loadAverage > host.cores * 0.5) {
    warnings.push(
      `the machine was busy when the run began (load average ${host.loadAverage} on ${host.cores} cores): absolute figures are pessimistic; ratios measured in this run remain comparable`
    )
  }
  const explicit =
    options.findMax ||
    options.saturate ||
    options.idle !== undefined ||
    options.compare ||
    options.peer ||
    options.cluster !== undefined
  const wantsLoad = !explicit || options.smoke
  const needsEngine = wantsLoad || options.findMax || options.saturate || options.idle !== undefined
  // The engine boots (seconds: compiling, opening its database) while the frames are prepared; it is idle,
  // so quiet, by the time the models are timed.
  const opening = needsEngine ? openEngine(options, undefined, options.profileDir) : undefined
  opening?.catch(() => undefined)
  try {
    log("preparing frames")
    const frames = await loadClips({
      dir: options.framesDir,
      ...(options.smoke ? { framesPerClip: 10, maxClips: 2 } : {})
    })
    log(
      `frames: ${frames.clips.length} clips × ${frames.clips[0]!.length} frames, ${(frames.meanBytes / 1000).toFixed(1)} kB each${frames.prepared ? ` (prepared into ${frames.dir})` : ""}`
    )
    const open = await opening
    log(`model-only bound: timing the models on ${options.cores} cores`)
    const modelBound = await measureModelBound({ cores: options.cores, budgetMs: options.smoke ? 150 : 400 })

    const peer = options.peer
      ? await runPeerComparison({
          clips: frames.clips,
          cores: options.cores,
          warmupMs: options.warmupS * 1000,
          durationMs: options.durationS * 1000,
          log
        })
      : undefined

    let load: LoadRunResult | undefined
    let findMax: BenchResults["findMax"]
    let saturate: LoadRunResult | undefined
    let idle: BenchResults["idle"]
    let engineInfo: BenchResults["engine"] = { url: "", started: false, database: "" }
    if (open !== undefined) {
      const { engine, database } = open
      engineInfo = { url: engine.urls.join(", "), started: engine.pid !== undefined, database }
      log(`engine: ${engine.urls.join(", ")} (${database})`)
      const ctx: PhaseContext = { engine, clips: frames.clips, options, log }
      if (wantsLoad) load = await runPaced(ctx, `${options.sessions} candidates`, options.sessions, options.fps)
      if (options.findMax) findMax = await runFindMax(ctx)
      if (options.saturate) saturate = await runSaturate(ctx, saturationSessions(options))
      if (options.idle !== undefined) idle = await runIdle(ctx, options.idle)
      await open.close()
    }
    let cluster: BenchResults["cluster"]
    if (options.cluster !== undefined) {
      cluster = await runClusterOverhead({ clips: frames.clips, options, log })
      engineInfo = {
        url: `1 node, then ${options.cluster} cluster nodes on loopback`,
        started: true,
        database: "PostgreSQL and Redis (throw-away database and key prefix per side)"
      }
    }

    const profiles =
      options.profileDir === undefined || open === undefined ? undefined : await summarizeProfiles(options.profileDir)

    const compare: Array<EngineVariantRun> = []
    if (options.compare) {
      for (const variant of EngineVariants) {
        await withEngine(options, variant.session, async (engine, database) => {
          log(`compare: ${variant.name}`)
          if (engineInfo.url === "") engineInfo = { url: "(a fresh engine per setting)", started: true, database }
          const ctx: PhaseContext = { engine, clips: frames.clips, options, log }
          const sat = await runSaturate(ctx, saturationSessions(options))
          const paced = await runPaced(ctx, `${options.sessions} candidates`, options.sessions, options.fps)
          compare.push({ name: variant.name, session: variant.session, saturate: sat, paced })
        })
      }
    }

    const efficiencyRun = saturate ?? compare[0]?.saturate
    // The in-process pipeline at the engine's defaults, with no engine running beside it: from the peer
    // comparison when it ran, else measured now.
    let inProcess = peer?.withReuse.ours
    if (efficiencyRun !== undefined && inProcess === undefined) {
      log("in-process pipeline: the engine's pool in this process, tracking on (defaults)")
      inProcess = await runPipelineInProcess({
        name: "in-process pipeline, tracking on (defaults)",
        clips: frames.clips,
        cores: options.cores,
        tracking: true,
        warmupMs: options.warmupS * 1000,
        durationMs: options.durationS * 1000
      })
    }
    const trackedShare = peer?.withReuse.ours.detectorShare
    const fallbackShare =
      trackedShare === undefined
        ? {
            share: 1 / defaultOptions().detectEvery,
            source: `assumed from the pool default (detector every ${defaultOptions().detectEvery} frames)`
          }
        : { share: trackedShare, source: "in-process pool run on the same clips" }
    const poolOff = peer?.withoutReuse.ours
    return {
      startedAt: new Date(started).toISOString(),
      seconds: (Date.now() - started) / 1000,
      command,
      machine: host,
      engine: engineInfo,
      options: redactOptions(options),
      frames: {
        clips: frames.clips.length,
        framesPerClip: frames.clips[0]!.length,
        width: FRAME_WIDTH,
        height: FRAME_HEIGHT,
        meanBytes: frames.meanBytes
      },
      modelBound,
      ...(load === undefined ? {} : { load }),
      ...(findMax === undefined ? {} : { findMax }),
      ...(saturate === undefined ? {} : { saturate }),
      ...(efficiencyRun === undefined
        ? {}
        : { efficiency: efficiencyOf(efficiencyRun, modelBound, fallbackShare, inProcess) }),
      ...(poolOff === undefined ? {} : { poolEfficiency: poolOff.framesPerSecond / modelBound.framesPerSecond }),
      ...(peer === undefined ? {} : { peer }),
      ...(compare.length === 0 ? {} : { compare }),
      ...(idle === undefined ? {} : { idle }),
      ...(cluster === undefined ? {} : { cluster }),
      ...(profiles === undefined ? {} : { profiles }),
      warnings
    }
  } finally {
    await opening?.then(
      (o) => o.close(),
      () => undefined
    )
  }
}
