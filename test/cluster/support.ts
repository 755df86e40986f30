/**
 * A cluster of real `candor serve` processes on loopback, sharing the real Postgres (a database of the test's own)
 * and Redis (a key prefix of its own). Cluster tests need both servers: without `DATABASE_URL` and `REDIS_URL`
 * they are skipped, loudly, except under CI where that is an error.
 */
import { randomBytes } from "node:crypto"
import { writeFileSync } from "node:fs"
import { expect } from "@effect/vitest"
import type { SeedResult } from "../../schemas/Api.ts"
import { Client } from "../sessions/support/Candidate.ts"
import { recordConsent } from "../support/Consent.ts"
import { type EngineProcess, freePort, runCandor, startEngineProcess } from "../support/EngineProcess.ts"
import { PgClient } from "../support/PgAdmin.ts"
import { queryPostgres } from "../support/Sql.ts"

export const clusterServers = (): { databaseUrl: string; redisUrl: string } | undefined => {
  const databaseUrl = process.env.DATABASE_URL
  const redisUrl = process.env.REDIS_URL
  if (databaseUrl && redisUrl) return { databaseUrl, redisUrl }
  if (process.env.CI === "true") throw new Error("cluster tests need DATABASE_URL and REDIS_URL under CI")
  console.warn("cluster tests skipped: set DATABASE_URL and REDIS_URL to run them")
  return undefined
}

export interface Node {
  readonly name: string
  readonly runner: string
  readonly port: number
  engine: EngineProcess
}

export interface Cluster {
  readonly env: Record<string, string>
  readonly databaseUrl: string
  readonly nodes: Array<Node>
  readonly seed: SeedResult
  /** Starts (again) the named node. */
  readonly start: (node: Node) => Promise<void>
  readonly query: <A>(text: string, params?: ReadonlyArray<unknown>) => Promise<ReadonlyArray<A>>
  readonly close: () => Promise<void>
}

/** Starts `names.length` engines in cluster mode, one after the other, and seeds a tenant through the database. */
export const startCluster = async (
  servers: { databaseUrl: string; redisUrl: string },
  names: ReadonlyArray<string>,
  extra: Record<string, string> = {}
): Promise<Cluster> => {
  const db = `candor_cluster_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`
  await PgClient.createDatabase(servers.databaseUrl, db)
  const url = new URL(servers.databaseUrl)
  url.pathname = `/${db}`
  const env: Record<string, string> = {
    DATABASE_URL: url.toString(),
    REDIS_URL: servers.redisUrl,
    REDIS_PREFIX: `candor-test:${db}:`,
    TOKEN_SECRET: randomBytes(24).toString("hex"),
    CANDOR_DEMO: "false",
    INFERENCE_WORKERS: "1",
    RETENTION_SWEEP_SECONDS: "0",
    ABANDON_SWEEP_SECONDS: "0",
    ...extra
  }
  const nodes: Array<Node> = []
  for (const name of names) {
    const runnerPort = await freePort()
    nodes.push({ name, runner: `127.0.0.1:${runnerPort}`, port: await freePort(), engine: undefined as never })
  }
  let generation = 0
  const keep = process.env.CANDOR_TEST_KEEP_LOGS
  const save = (node: Node) => {
    if (keep !== undefined && node.engine !== undefined)
      writeFileSync(`${keep}/engine-${node.name}-${generation++}.log`, node.engine.output())
  }
  const start = async (node: Node) => {
    save(node)
    node.engine = await startEngineProcess({ ...env, CLUSTER_RUNNER_ADDRESS: node.runner }, node.port)
  }
  // One at a time: the first creates the schema; the others find it.
  for (const node of nodes) await start(node)
  const seeded = await runCandor(["seed", "--json"], env)
  if (seeded.code !== 0) throw new Error(`candor seed failed: ${seeded.stderr}`)
  const seed = JSON.parse(seeded.stdout.trim().split("\n").pop()!) as SeedResult
  return {
    env,
    databaseUrl: url.toString(),
    nodes,
    seed,
    start,
    query: (text, params = []) => queryPostgres(url.toString(), text, params),
    close: async () => {
      for (const node of nodes) await node.engine?.kill().catch(() => {})
      for (const node of nodes) save(node)
      await PgClient.dropDatabase(servers.databaseUrl, db)
    }
  }
}

export interface Created {
  readonly interviewId: string
  readonly candidateToken: string
  readonly questions: ReadonlyArray<{ readonly id: string }>
}

/** A two-question interview, created and consented to through `node`. */
export const createInterview = async (cluster: Cluster, node: Node, name = "Cluster Candidate"): Promise<Created> => {
  const res = await fetch(`${node.engine.url}/v1/interviews`, {
    method: "POST",
    headers: { authorization: `Bearer ${cluster.seed.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      candidate: { name },
      questions: [{ prompt: "Tell us about a system you scaled." }, { prompt: "How do you handle a failed deploy?" }]
    })
  })
  expect(res.status).toBe(201)
  const created = (await res.json()) as { id: string; candidateToken: string }
  for (const kind of ["data_processing", "affect_analysis"] as const) {
    const consent = await recordConsent(node.engine.url, { interviewId: created.id, ...created }, kind)
    expect(consent.status).toBe(201)
  }
  const detail = await interview(cluster, node, created.id)
  return { interviewId: created.id, candidateToken: created.candidateToken, questions: detail.questions }
}

export const interview = async (cluster: Cluster, node: Node, id: string) => {
  const res = await fetch(`${node.engine.url}/v1/interviews/${id}`, {
    headers: { authorization: `Bearer ${cluster.seed.apiKey}` }
  })
  expect(res.status).toBe(200)
  return (await res.json()) as {
    status: string
    questions: Array<{ id: string }>
    live?: { runner: string; since: string }
  }
}

/** Which node owns the interview's live session (consent has started it). */
export const ownerOf = async (cluster: Cluster, id: string): Promise<Node | undefined> => {
  const live = (await interview(cluster, cluster.nodes[0]!, id)).live
  return cluster.nodes.find((n) => n.runner === live?.runner)
}

/** The interview's event sequence numbers, in order: a gap or a duplicate means two writers or a lost write. */
export const eventSeqs = async (cluster: Cluster, id: string): Promise<Array<number>> =>
  (await cluster.query<{ seq: number }>("SELECT seq FROM score_events WHERE interview_id = $1 ORDER BY seq", [id])).map(
    (r) => Number(r.seq)
  )

export const expectContiguous = (seqs: ReadonlyArray<number>) => {
  expect(seqs.length).toBeGreaterThan(0)
  expect(new Set(seqs).size).toBe(seqs.length)
  expect(seqs[seqs.length - 1]! - seqs[0]! + 1).toBe(seqs.length)
}

export const connect = (node: Node, created: Created) =>
  Client.candidate(node.engine.wsUrl, created.interviewId, created.candidateToken)

/** The shards each node holds, from its /metrics. */
const shardsHeld = async (node: Node): Promise<number> => {
  const text = await (await fetch(`${node.engine.url}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith("candor_cluster_shards "))
  return line === undefined ? -1 : Number(line.split(" ")[1])
}

/** Waits until every node holds shards, they add up to all of them, and nothing moved for a second. */
export const settled = async (cluster: Cluster, shards = 300, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let last = ""
  let stableSince = Date.now()
  while (Date.now() < deadline) {
    const held = await Promise.all(cluster.nodes.map(shardsHeld))
    const key = held.join(",")
    if (key !== last) {
      last = key
      stableSince = Date.now()
    } else if (
      held.every((n) => n > 0) &&
      held.reduce((a, b) => a + b, 0) === shards &&
      Date.now() - stableSince >= 1000
    )
      return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`shards did not settle within ${timeoutMs} ms: ${last}`)
}
