/**
 * `candor bench --cluster N`: what cluster mode costs, measured in one run on this machine, on engines the bench
 * starts (each on a throw-away Postgres database and a Redis key prefix of its own, stopped and dropped at the end,
 * on failure too).
 *
 * 1. One node, not clustered (Postgres and Redis, `--cores` inference workers: an engine's default), under the
 *    paced load (`--sessions` × `--fps`).
 * 2. N cluster nodes on loopback (one inference worker each: the least a node can have), under the same load with
 *    the same frames, the candidates' sockets spread round-robin over the nodes as a load balancer would, so about
 *    (N−1)/N of the frames are relayed to their session's owner. Cluster ÷ single CPU time per analysed frame
 *    (every node's process CPU summed) is the overhead ratio.
 * 3. The relay's own cost, on the same cluster: interviews owned by one node, their sockets first on that owner,
 *    then (fresh interviews of the same owner) on another node, which then only relays. Each node's own
 *    `/metrics` tells what a frame costs the relaying node and what it adds on the owner.
 *
 * Both the single node and the cluster run from the start, so that with `--rounds R` the sides alternate (one
 * node, cluster; then cluster, one node; …) and a machine whose load drifts weighs on both alike; the idle side
 * costs the measured one only its idle cores (its CPU is not counted, being another process). The relay's phases
 * alternate the same way.
 */
import { randomBytes } from "node:crypto"
import { loadavg } from "node:os"
import type { BenchOptions } from "./BenchOptions.ts"
import { cpuMsPerAnalysedFrame } from "./BenchResults.ts"
import { recordConsents } from "./CandidateProtocol.ts"
import { createInterviews, type Engine, freePort, scrape, seedEngine, startEngine } from "./EngineUnderTest.ts"
import type { NodeSummary } from "./EngineMonitor.ts"
import { meanFrameBytes } from "./BenchFrames.ts"
import { placeOnNodes } from "./LoadGenerator.ts"
import { measurePlacement, type PlacementResult } from "./Placement.ts"
import { ANSWER_AFTER_MS, type LoadRunResult, type PhaseContext, runPaced } from "./LoadPhases.ts"
import type { CandidateSpec } from "./LoadProtocol.ts"
import { between, parsePrometheus, sumOf } from "./PrometheusText.ts"
import { backendCpuBetween, createThrowawayDatabase, type ThrowawayDatabase } from "./ThrowawayDatabase.ts"
import { createThrowawayPrefix, type ThrowawayPrefix } from "./ThrowawayRedis.ts"

/** Shards of the bench's clusters (the engine's default), set explicitly so that settling can be checked. */
const SHARDS = 300
/** Seconds of quiet before each load, to read what the engines cost with no candidate. */
const IDLE_SECONDS = 5

export interface ClusterSide {
  readonly label: string
  readonly urls: ReadonlyArray<string>
  readonly workersPerNode: number
  /** 1-minute load average when this side's load began. */
  readonly loadAverage: number
  /** Cores the engine (every node) used with no candidate, over a few seconds just before the load. */
  readonly idleCores: number | undefined
  readonly run: LoadRunResult
  /** Every node's process CPU over the measured window ÷ frames analysed (as the candidates counted them). */
  readonly cpuMsPerFrame: number | undefined
  /** The same ÷ frames the candidates sent: frames shed cost CPU too, so this moves less when a side sheds. */
  readonly cpuMsPerFrameSent: number | undefined
  /**
   * Cores used by the Postgres backends serving this side's database over the whole phase (connecting, warm-up,
   * window, settling), when the server runs on this machine; not part of `cpuMsPerFrame`.
   */
  readonly postgresCores?: number | undefined
}

/** One node in one relay phase. */
export interface RelayNode {
  readonly url: string
  readonly role: "owner" | "relay" | "idle"
  readonly node: NodeSummary
}

export interface RelayCost {
  readonly sessions: number
  readonly fps: number
  /** The node that owns every session of both phases. */
  readonly owner: string
  /** Where the sockets are in the relayed phase. */
  readonly relay: string
  readonly loadAverage: number
  /** Sockets on the owner. */
  readonly local: LoadRunResult
  /** Sockets on `relay`, which forwards each frame to the owner and each reply back. */
  readonly relayed: LoadRunResult
  readonly localNodes: ReadonlyArray<RelayNode>
  readonly relayedNodes: ReadonlyArray<RelayNode>
  /** CPU ms per analysed frame on the owner, its sockets its own. */
  readonly ownerMsLocal: number | undefined
  /** The same when every frame reaches it through the relay. */
  readonly ownerMsRelayed: number | undefined
  /**
   * The relaying node's CPU above its own in the local phase (a cluster member holding no socket), per frame it
   * received from a candidate (it forwards every one, analysed or not).
   */
  readonly relayMsPerFrame: number | undefined
  /** Every node's CPU per analysed frame in each phase; their difference is what relaying a frame costs in all. */
  readonly clusterMsLocal: number | undefined
  readonly clusterMsRelayed: number | undefined
}

export interface ClusterRound {
  readonly single: ClusterSide
  readonly cluster: ClusterSide
  /** cluster.cpuMsPerFrame ÷ single.cpuMsPerFrame. */
  readonly ratio: number | undefined
  /** Share of this round's cluster candidates whose socket was not on their session's owner. */
  readonly relayedShare: number | undefined
}

export interface ClusterOverheadResult {
  readonly nodes: number
  /** In the order run (`--rounds`; the sides alternate). */
  readonly rounds: ReadonlyArray<ClusterRound>
  /** Over every round: all the cluster's CPU ÷ all its analysed frames, over the same for the single node. */
  readonly ratio: number | undefined
  /** The same per frame sent. */
  readonly ratioPerSent: number | undefined
  /** One per round. */
  readonly relay: ReadonlyArray<RelayCost>
  /** Where inference runs: a frame's crossing from the socket's node to the owner, per placement. */
  readonly placement?: PlacementResult
}

/** CPU ms per frame over several runs: all their CPU ÷ all their frames (analysed, or sent). */
export const pooledMsPerFrame = (
  runs: ReadonlyArray<LoadRunResult>,
  frames: (run: LoadRunResult) => number
): number | undefined => {
  let cpuMs = 0
  let count = 0
  for (const run of runs) {
    if (run.engine.cpuCores === undefined) return undefined
    cpuMs += run.engine.cpuCores * run.stats.seconds * 1000
    count += frames(run)
  }
  return count > 0 ? cpuMs / count : undefined
}

const sentFps = (run: LoadRunResult) => run.stats.sent / run.stats.seconds

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const load1 = () => Math.round(loadavg()[0]! * 100) / 100

/** Runs `f` over `items`, `lanes` at a time, keeping their order. */
const mapLimit = async <A, B>(items: ReadonlyArray<A>, lanes: number, f: (a: A) => Promise<B>): Promise<Array<B>> => {
  const out: Array<B> = new Array(items.length)
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane))
  return out
}

/** Cores the engine used over `seconds` of quiet. */
const idleCores = async (engine: Engine, seconds: number): Promise<number | undefined> => {
  const a = await scrape(engine)
  await sleep(seconds * 1000)
  const b = await scrape(engine)
  return a === undefined || b === undefined ? undefined : between(a, b).cpuCores
}

/** Interviews created on the engine's first node, consented to (which starts each one's session on its owner). */
const consentedInterviews = async (engine: Engine, n: number): Promise<Array<CandidateSpec>> => {
  const specs = await createInterviews(engine, n, ANSWER_AFTER_MS)
  const ok = await mapLimit(specs, 8, (s) => recordConsents(engine.url, s.interviewId, s.token))
  if (ok.some((x) => !x)) throw new Error("recording a bench candidate's consent failed")
  return specs
}

/** The runner (`host:port`) whose session an interview's is now, from `GET /v1/interviews/:id`. */
const ownerOf = async (engine: Engine, interviewId: string): Promise<string | undefined> => {
  const response = await fetch(`${engine.url}/v1/interviews/${encodeURIComponent(interviewId)}`, {
    headers: { authorization: `Bearer ${engine.apiKey}` }
  })
  if (!response.ok) throw new Error(`GET /v1/interviews/${interviewId} answered ${response.status}`)
  return ((await response.json()) as { live?: { runner: string } }).live?.runner
}

/** The shards each node holds (`candor_cluster_shards`), -1 for a node that did not answer. */
const shardsHeld = (urls: ReadonlyArray<string>) =>
  Promise.all(
    urls.map(async (url) => {
      try {
        const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
        return sumOf(parsePrometheus(text), /^candor_cluster_shards$/) ?? -1
      } catch {
        return -1
      }
    })
  )

/** Waits until every node holds shards, they add up to all of them, and nothing moved for two seconds. */
const shardsSettled = async (urls: ReadonlyArray<string>, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let last = ""
  let since = Date.now()
  while (Date.now() < deadline) {
    const held = await shardsHeld(urls)
    const key = held.join(",")
    if (key !== last) {
      last = key
      since = Date.now()
    } else if (held.every((n) => n > 0) && held.reduce((a, b) => a + b, 0) === SHARDS && Date.now() - since >= 2000)
      return
    await sleep(250)
  }
  throw new Error(`the cluster's shards did not settle within ${timeoutMs / 1000} s (held: ${last})`)
}

interface Started {
  readonly engine: Engine
  readonly db: ThrowawayDatabase
  /** Cluster runner address of each node, in the order of `engine.urls`; empty for a single node. */
  readonly runners: ReadonlyArray<string>
}

/**
 * Starts `nodes` engines on one database and Redis prefix (cluster mode when `nodes` > 1, one after another: the
 * first creates the schema) and seeds a tenant once. On failure every engine started so far is stopped.
 */
const startNodes = async (
  nodes: number,
  workers: number,
  db: ThrowawayDatabase,
  redis: ThrowawayPrefix,
  stopLater: (stop: () => Promise<void>) => void
): Promise<Started> => {
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    TOKEN_SECRET: randomBytes(24).toString("hex"),
    INFERENCE_WORKERS: String(workers),
    ...(nodes > 1 ? { CLUSTER_SHARDS: String(SHARDS) } : {})
  }
  const engines: Array<Engine> = []
  const runners: Array<string> = []
  for (let i = 0; i < nodes; i++) {
    const runner = nodes > 1 ? `127.0.0.1:${await freePort()}` : undefined
    const engine = await startEngine({
      env: runner === undefined ? env : { ...env, CLUSTER_RUNNER_ADDRESS: runner },
      seed: false
    })
    stopLater(engine.stop)
    engines.push(engine)
    if (runner !== undefined) runners.push(runner)
  }
  const urls = engines.map((e) => e.url)
  if (nodes > 1) await shardsSettled(urls)
  const { apiKey } = await seedEngine(env)
  return {
    engine: {
      url: urls[0]!,
      urls,
      apiKey,
      pid: engines[0]!.pid,
      env,
      stop: async () => {
        await Promise.all(engines.map((e) => e.stop()))
      }
    },
    db,
    runners
  }
}

export interface ClusterOverheadContext {
  readonly clips: ReadonlyArray<ReadonlyArray<Uint8Array>>
  readonly options: BenchOptions
  readonly log: (line: string) => void
}

/** Engines, databases and Redis prefixes to undo, last first; every step is tried whatever the others do. */
class Cleanup {
  private readonly steps: Array<() => Promise<void>> = []
  add(step: () => Promise<void>): void {
    this.steps.push(step)
  }
  async run(log: (line: string) => void): Promise<void> {
    while (this.steps.length > 0) {
      await this.steps.pop()!().catch((e) => log(`clean-up: ${e instanceof Error ? e.message : String(e)}`))
    }
  }
}

const side = async (
  ctx: ClusterOverheadContext,
  label: string,
  started: Started,
  workersPerNode: number,
  prepare: (engine: Engine) => Promise<ReadonlyArray<CandidateSpec>>
): Promise<ClusterSide> => {
  const { options, log } = ctx
  const { engine } = started
  const specs = await prepare(engine)
  log(`${label}: ${IDLE_SECONDS} s with no candidate`)
  const idle = await idleCores(engine, IDLE_SECONDS)
  const loadAverage = load1()
  const phase: PhaseContext = { engine, clips: ctx.clips, options, log }
  const pgBefore = await started.db.backendCpu()
  const began = Date.now()
  const run = await runPaced(phase, `${label}: ${options.sessions} candidates`, options.sessions, options.fps, specs)
  const pgSeconds = backendCpuBetween(pgBefore, await started.db.backendCpu())
  return {
    postgresCores: pgSeconds === undefined ? undefined : pgSeconds / ((Date.now() - began) / 1000),
    label,
    urls: engine.urls,
    workersPerNode,
    loadAverage,
    idleCores: idle,
    run,
    cpuMsPerFrame: cpuMsPerAnalysedFrame(run.engine.cpuCores, run.stats.analysedFps),
    cpuMsPerFrameSent: cpuMsPerAnalysedFrame(run.engine.cpuCores, sentFps(run))
  }
}

/** `n` consented interviews whose session the node at `runner` owns (others are created and left idle). */
const ownedBy = async (engine: Engine, runner: string, n: number): Promise<Array<CandidateSpec>> => {
  const out: Array<CandidateSpec> = []
  for (let round = 0; out.length < n; round++) {
    if (round >= 12) throw new Error(`could not find ${n} interviews owned by ${runner}`)
    const specs = await consentedInterviews(engine, Math.max(8, (n - out.length) * 4))
    const owners = await mapLimit(specs, 8, (s) => ownerOf(engine, s.interviewId))
    out.push(...specs.filter((_, i) => owners[i] === runner))
  }
  return out.slice(0, n)
}

const relayNodes = (
  run: LoadRunResult,
  owner: string,
  relay: string | undefined
): { nodes: Array<RelayNode>; byRole: (role: RelayNode["role"]) => NodeSummary | undefined } => {
  const nodes = (run.engine.nodes ?? []).map(
    (node): RelayNode => ({
      url: node.url,
      role: node.url === owner ? "owner" : node.url === relay ? "relay" : "idle",
      node
    })
  )
  return { nodes, byRole: (role) => nodes.find((n) => n.role === role)?.node }
}

/**
 * Phase 3: the relay's cost per frame, on the relaying node and on the owner (see the module's comment);
 * `relayedFirst` runs the two phases the other way round.
 */
const relayCost = async (
  ctx: ClusterOverheadContext,
  started: Started,
  round: string,
  relayedFirst: boolean
): Promise<RelayCost> => {
  const { options, log } = ctx
  const { engine, runners } = started
  const owner = engine.urls[0]!
  const relay = engine.urls[1]!
  log(`relay${round}: finding ${2 * options.sessions} interviews owned by ${owner}`)
  const owned = await ownedBy(engine, runners[0]!, 2 * options.sessions)
  const on = (specs: ReadonlyArray<CandidateSpec>, url: string) => specs.map((s) => ({ ...s, url }))
  const phase: PhaseContext = { engine, clips: ctx.clips, options, log }
  const loadAverage = load1()
  const runLocal = () =>
    runPaced(
      phase,
      `relay${round}: sockets on the owner`,
      options.sessions,
      options.fps,
      on(owned.slice(0, options.sessions), owner)
    )
  const runRelayed = () =>
    runPaced(
      phase,
      `relay${round}: sockets on another node`,
      options.sessions,
      options.fps,
      on(owned.slice(options.sessions), relay)
    )
  let local: LoadRunResult
  let relayed: LoadRunResult
  if (relayedFirst) {
    relayed = await runRelayed()
    local = await runLocal()
  } else {
    local = await runLocal()
    relayed = await runRelayed()
  }
  const l = relayNodes(local, owner, undefined)
  const r = relayNodes(relayed, owner, relay)
  const perFrame = (cores: number | undefined, run: LoadRunResult) =>
    cpuMsPerAnalysedFrame(cores, run.stats.analysedFps)
  const relayBefore = l.nodes.find((n) => n.url === relay)?.node.cpuCores
  const relayDuring = r.byRole("relay")?.cpuCores
  return {
    sessions: options.sessions,
    fps: options.fps,
    owner,
    relay,
    loadAverage,
    local,
    relayed,
    localNodes: l.nodes,
    relayedNodes: r.nodes,
    ownerMsLocal: perFrame(l.byRole("owner")?.cpuCores, local),
    ownerMsRelayed: perFrame(r.byRole("owner")?.cpuCores, relayed),
    relayMsPerFrame:
      relayBefore === undefined || relayDuring === undefined || relayed.stats.sent === 0
        ? undefined
        : ((relayDuring - relayBefore) * 1000) / sentFps(relayed),
    clusterMsLocal: perFrame(local.engine.cpuCores, local),
    clusterMsRelayed: perFrame(relayed.engine.cpuCores, relayed)
  }
}

/** Share of the candidates whose socket is on another node than their session's owner. */
const relayedShareOf = async (started: Started, placed: ReadonlyArray<CandidateSpec>) => {
  const { engine, runners } = started
  const owners = await mapLimit(placed, 8, (s) => ownerOf(engine, s.interviewId))
  const socketRunner = (s: CandidateSpec) => runners[engine.urls.findIndex((u) => u.replace(/^http/, "ws") === s.url)]
  const known = placed.filter((s, i) => owners[i] !== undefined && socketRunner(s) !== undefined)
  return known.length === 0
    ? undefined
    : known.filter((s) => owners[placed.indexOf(s)] !== socketRunner(s)).length / known.length
}

export const runClusterOverhead = async (ctx: ClusterOverheadContext): Promise<ClusterOverheadResult> => {
  const { options, log } = ctx
  const nodes = options.cluster!
  const rounds = options.rounds
  const cleanup = new Cleanup()
  try {
    const throwaway = async () => {
      const db = await createThrowawayDatabase(options.databaseUrl!)
      cleanup.add(db.drop)
      const redis = createThrowawayPrefix(options.redisUrl!)
      cleanup.add(redis.drop)
      return { db, redis }
    }
    const singleStores = await throwaway()
    const clusterStores = await throwaway()
    log(`single node: starting (${options.cores} inference workers)`)
    const single = await startNodes(1, options.cores, singleStores.db, singleStores.redis, (stop) => cleanup.add(stop))
    log(`cluster: starting ${nodes} nodes (1 inference worker each)`)
    const cluster = await startNodes(nodes, 1, clusterStores.db, clusterStores.redis, (stop) => cleanup.add(stop))

    const out: Array<ClusterRound> = []
    for (let r = 0; r < rounds; r++) {
      const round = rounds === 1 ? "" : ` (round ${r + 1})`
      const runSingle = () =>
        side(ctx, `1 node${round}`, single, options.cores, (e) => consentedInterviews(e, options.sessions))
      let placed: Array<CandidateSpec> = []
      const runCluster = () =>
        side(ctx, `${nodes} nodes${round}`, cluster, 1, async (engine) => {
          const specs = await consentedInterviews(engine, options.sessions)
          // Where the load generator will put each candidate (it places them the same way, round-robin).
          placed = placeOnNodes(specs, engine.urls)
          return specs
        })
      // Alternate the order, round after round: drift in the machine's load weighs on both sides alike.
      let s: ClusterSide
      let c: ClusterSide
      if (r % 2 === 0) {
        s = await runSingle()
        c = await runCluster()
      } else {
        c = await runCluster()
        s = await runSingle()
      }
      out.push({
        single: s,
        cluster: c,
        ratio:
          c.cpuMsPerFrame === undefined || s.cpuMsPerFrame === undefined
            ? undefined
            : c.cpuMsPerFrame / s.cpuMsPerFrame,
        relayedShare: await relayedShareOf(cluster, placed)
      })
    }
    const relay: Array<RelayCost> = []
    for (let r = 0; r < rounds; r++)
      relay.push(await relayCost(ctx, cluster, rounds === 1 ? "" : ` (round ${r + 1})`, r % 2 === 1))

    const placement = await measurePlacement({
      databaseUrl: options.databaseUrl!,
      jpegBytes: meanFrameBytes(ctx.clips),
      rounds,
      log
    })

    const pooled = (pick: (x: ClusterRound) => ClusterSide, frames: (run: LoadRunResult) => number) =>
      pooledMsPerFrame(
        out.map((x) => pick(x).run),
        frames
      )
    const ratioOf = (frames: (run: LoadRunResult) => number) => {
      const c = pooled((x) => x.cluster, frames)
      const s = pooled((x) => x.single, frames)
      return c === undefined || s === undefined ? undefined : c / s
    }
    return {
      nodes,
      rounds: out,
      ratio: ratioOf((run) => run.stats.analysed),
      ratioPerSent: ratioOf((run) => run.stats.sent),
      relay,
      placement
    }
  } finally {
    log("cluster: stopping the engines, dropping the databases and Redis keys")
    await cleanup.run(log)
  }
}
