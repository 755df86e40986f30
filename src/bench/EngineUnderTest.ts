/**
 * The engine being measured: either started here as a child process (`candor serve` on a free port with a
 * throw-away data directory, so its CPU and memory are its own and restarts with other settings are clean), or
 * an engine already running at `--url`, possibly several nodes of one cluster. Interviews are created through the
 * public recruiter API, as a customer would, on the first node.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { readLock } from "../store/EmbeddedLock.ts"
import type { CandidateSpec } from "./LoadProtocol.ts"
import { type EngineGauges, readGauges, sumGauges } from "./PrometheusText.ts"

export interface Engine {
  /** Where interviews are created: the first of `urls`. */
  readonly url: string
  /** Every node: candidates' sockets are spread over them, and their `/metrics` are summed. */
  readonly urls: ReadonlyArray<string>
  readonly apiKey: string
  /** Set when the bench started the engine. */
  readonly pid: number | undefined
  readonly env: Readonly<Record<string, string>>
  readonly stop: () => Promise<void>
}

const cli = fileURLToPath(new URL("../../bin/candor.js", import.meta.url))
const benchEntry = fileURLToPath(new URL("./engineEntry.mjs", import.meta.url))

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()))
    })
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once("exit", () => resolve())
  })

/** Runs `candor <args>` with the engine's environment and returns its stdout. */
const candor = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    child.once("error", reject)
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`candor ${args.join(" ")} exited ${code}: ${err.trim()}`))
    )
  })

/** Settings that would point a bench engine at someone's real data: never inherited, only set by the bench. */
const PRIVATE =
  /^(DATABASE_URL|PGLITE_DIR|REDIS_URL|REDIS_PREFIX|S3_.*|MEDIA_DIR|CANDOR_DATA_DIR|PUBLIC_URL|PORT|HOST|CLUSTER_.*)$/

/** This process's environment without anything naming real data or a cluster to join. */
const inheritedEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !PRIVATE.test(k)))

export interface StartOptions {
  /** Set on top of this process's environment (minus anything naming real data). */
  readonly env?: Readonly<Record<string, string>>
  /** Session settings replaced for this engine (see BenchEngine.ts). */
  readonly session?: Readonly<Record<string, unknown>> | undefined
  /** Run under `node --cpu-prof`, writing profiles here. */
  readonly profileDir?: string | undefined
  /** Seed a tenant once ready (default); a cluster's nodes are seeded once, with `seedEngine`. */
  readonly seed?: boolean
}

/**
 * Starts `candor serve` with `env` on top of this process's environment (minus anything naming real data),
 * waits until it is ready, and seeds a tenant. Without `DATABASE_URL` in `env` it runs on embedded PGlite in a
 * temporary data directory, removed on stop. With `session`, the same engine runs with those session settings
 * replaced (see BenchEngine.ts). Unseeded, its `apiKey` is empty.
 */
export const startEngine = async (start: StartOptions = {}): Promise<Engine> => {
  const { env = {}, session, profileDir, seed = true } = start
  const dataDir = await mkdtemp(path.join(tmpdir(), "candor-bench-"))
  const port = await freePort()
  const fullEnv: NodeJS.ProcessEnv = {
    ...inheritedEnv(),
    HOST: "127.0.0.1",
    PORT: String(port),
    CANDOR_DATA_DIR: dataDir,
    CANDOR_DEMO: "false",
    LOG_LEVEL: "Warn",
    ...env,
    ...(session === undefined ? {} : { CANDOR_BENCH_SESSION: JSON.stringify(session) })
  }
  const args = session === undefined ? [cli, "serve"] : [benchEntry]
  // Profiles are written when each thread exits: the engine must be stopped gracefully (SIGTERM) for them.
  const profile = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
  const child = spawn(process.execPath, [...profile, ...args], { env: fullEnv, stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr!.on("data", (d) => {
    stderr = (stderr + d).slice(-4000)
  })
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
      await exited(child)
      clearTimeout(timer)
    }
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const deadline = Date.now() + 120_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the engine exited with code ${child.exitCode}:\n${stderr.trim()}`)
      if (Date.now() > deadline) throw new Error(`the engine was not ready within 120 s:\n${stderr.trim()}`)
      const ready = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false
      )
      if (ready) break
      await sleep(250)
    }
    if (!seed) return { url, urls: [url], apiKey: "", pid: child.pid, env: { ...env }, stop }
    const seeded = (await seedThroughLock(dataDir)) ?? (await seedEngine({ CANDOR_DATA_DIR: dataDir, ...env }))
    return { url, urls: [url], apiKey: seeded.apiKey, pid: child.pid, env: { ...env }, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

interface Seeded {
  readonly apiKey: string
}

/**
 * `candor seed --json` on an engine's database (`DATABASE_URL` in `env`): a tenant and its API key. Run as its own
 * process, without the engine's cluster address (it joins no cluster), in a temporary data directory of its own
 * unless `env` names one.
 */
export const seedEngine = async (env: Readonly<Record<string, string>>): Promise<Seeded> => {
  const { CLUSTER_RUNNER_ADDRESS: _, CLUSTER_LISTEN_ADDRESS: __, ...rest } = env
  const dataDir = rest.CANDOR_DATA_DIR === undefined ? await mkdtemp(path.join(tmpdir(), "candor-seed-")) : undefined
  try {
    const out = await candor(["seed", "--json"], {
      ...inheritedEnv(),
      CANDOR_DEMO: "false",
      LOG_LEVEL: "Warn",
      ...(dataDir === undefined ? {} : { CANDOR_DATA_DIR: dataDir }),
      ...rest
    })
    return JSON.parse(out.trim().split("\n").pop()!) as Seeded
  } finally {
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  }
}

/**
 * On embedded PGlite the engine owns its database and keeps an admin token in its data directory: seed through
 * its loopback admin route, as `candor seed` would, without starting another process. Undefined elsewhere.
 */
const seedThroughLock = async (dataDir: string): Promise<Seeded | undefined> => {
  const holder = readLock(dataDir)
  if (holder?.url == null) return undefined
  const response = await fetch(`${holder.url}/internal/seed`, {
    method: "POST",
    headers: { authorization: `Bearer ${holder.adminToken}` }
  })
  if (!response.ok) throw new Error(`seeding the engine: ${response.status} ${await response.text()}`)
  return (await response.json()) as Seeded
}

/** An engine someone else runs: one node, or the nodes of one cluster. */
export const remoteEngine = (urls: ReadonlyArray<string>, apiKey: string): Engine => ({
  url: urls[0]!,
  urls,
  apiKey,
  pid: undefined,
  env: {},
  stop: async () => {}
})

const QUESTIONS = [
  { prompt: "Tell us about a system you scaled under pressure." },
  { prompt: "Describe a disagreement about a technical decision and how it ended." },
  { prompt: "How do you decide what to measure before optimising?" }
]

/** Creates `n` interviews (a few requests at a time) and returns what a candidate needs to join each. */
export const createInterviews = async (
  engine: Engine,
  n: number,
  answerAfterMs: number,
  concurrency = 8
): Promise<Array<CandidateSpec>> => {
  const out: Array<CandidateSpec> = new Array(n)
  let next = 0
  const lane = async () => {
    while (next < n) {
      const i = next++
      const response = await fetch(`${engine.url}/v1/interviews`, {
        method: "POST",
        headers: { authorization: `Bearer ${engine.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ candidate: { name: `Bench candidate ${i}` }, questions: QUESTIONS })
      })
      if (!response.ok) throw new Error(`POST /v1/interviews answered ${response.status}: ${await response.text()}`)
      const body = (await response.json()) as { id: string; candidateToken: string }
      out[i] = { interviewId: body.id, token: body.candidateToken, questions: QUESTIONS.length, answerAfterMs }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane))
  return out
}

/** One scrape of a node's `/metrics`; undefined when it does not answer. */
export const scrapeNode = async (url: string): Promise<EngineGauges | undefined> => {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })
    if (!response.ok) return undefined
    return readGauges(await response.text(), Date.now())
  } catch {
    return undefined
  }
}

/** Every node's scrape, at once, in the order of `engine.urls`. */
export const scrapeNodes = (engine: Engine): Promise<Array<EngineGauges | undefined>> =>
  Promise.all(engine.urls.map(scrapeNode))

/** One scrape of the whole engine (every node summed); undefined when a node does not answer. */
export const scrape = async (engine: Engine): Promise<EngineGauges | undefined> => {
  const nodes = await scrapeNodes(engine)
  return nodes.every((g) => g !== undefined) ? sumGauges(nodes) : undefined
}
