/**
 * Where inference runs in a cluster, measured: the cost of one frame crossing from the node that holds the
 * candidate's socket to the node that owns the session, for each placement.
 *
 * - **On the owner** (what Candor does): the JPEG goes to the owner, and the analysis reply comes back.
 * - **On the socket's node**: only the analysis goes to the owner (its actor records it), and the socket's node
 *   answers the candidate itself; or, with the owner still sending the reply (the actor orders what a candidate
 *   sees), the analysis goes both ways.
 *
 * Two runner processes on loopback with Candor's cluster layer on a throw-away database: an owner holding every
 * shard, and a node holding none that sends paced frames to a probe entity per "session". Each process reports its
 * own CPU over the paced window, less what it used idle. The models cost the same on either node, so the
 * difference between placements is the crossing alone.
 */
import { type ChildProcess, fork } from "node:child_process"
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { freePort } from "./EngineUnderTest.ts"
import type { PlacementPhase } from "./PlacementNode.ts"
import { createThrowawayDatabase } from "./ThrowawayDatabase.ts"

/** An `analysis` message for a one-face frame with emotions, as the candidate gets it (bytes of JSON). */
export const ANALYSIS_REPLY_BYTES = 250
/** A one-face `FrameAnalysis` as the actor records it, without keypoints or heat-map (bytes of JSON). */
export const FRAME_ANALYSIS_BYTES = 600

export interface PlacementRow {
  readonly name: string
  readonly upBytes: number
  readonly downBytes: number
  /** CPU ms per frame on the socket's node and on the owner, idle use taken off. */
  readonly socketNodeMs: number
  readonly ownerMs: number
  /** Replies that came back (a phase with replies must get them all). */
  readonly replies: number
  readonly messages: number
}

export interface PlacementRound {
  readonly loadAverage: number
  readonly rows: ReadonlyArray<PlacementRow>
}

export interface PlacementResult {
  readonly messages: number
  readonly perSecond: number
  readonly sessions: number
  readonly rounds: ReadonlyArray<PlacementRound>
}

interface Child {
  readonly process: ChildProcess
  readonly request: <A>(message: object, reply: string) => Promise<A>
  readonly next: <A>(tag: string) => Promise<A>
  readonly stop: () => Promise<void>
}

const entry = fileURLToPath(new URL("./placementEntry.mjs", import.meta.url))

const startChild = async (role: "owner" | "socket", databaseUrl: string): Promise<Child> => {
  const child = fork(entry, [], {
    env: {
      ...process.env,
      PLACEMENT_ROLE: role,
      PLACEMENT_PORT: String(await freePort()),
      PLACEMENT_DATABASE_URL: databaseUrl
    },
    stdio: ["ignore", "ignore", "pipe", "ipc"]
  })
  let stderr = ""
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000)
  })
  const next = <A>(tag: string) =>
    new Promise<A>((resolve, reject) => {
      const onMessage = (m: { _tag: string }) => {
        if (m._tag !== tag) return
        child.off("message", onMessage)
        child.off("exit", onExit)
        resolve(m as A)
      }
      const onExit = (code: number | null) =>
        reject(new Error(`placement ${role} runner exited (${code}) waiting for ${tag}: ${stderr.trim()}`))
      child.on("message", onMessage)
      child.once("exit", onExit)
    })
  const ready = next("ready")
  await ready
  return {
    process: child,
    next,
    request: <A>(message: object, reply: string) => {
      const answer = next<A>(reply)
      child.send(message)
      return answer
    },
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once("exit", r))
      child.kill("SIGTERM")
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
      if (child.exitCode === null) child.kill("SIGKILL")
    }
  }
}

const cpuOf = (child: Child) => child.request<{ ms: number }>({ _tag: "cpu" }, "cpu").then((r) => r.ms)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const measurePlacement = async (options: {
  readonly databaseUrl: string
  readonly jpegBytes: number
  readonly rounds: number
  readonly log: (line: string) => void
  readonly messages?: number
  readonly perSecond?: number
  readonly sessions?: number
}): Promise<PlacementResult> => {
  const messages = options.messages ?? 2000
  const perSecond = options.perSecond ?? 200
  const sessions = options.sessions ?? 20
  const jpeg = Math.round(options.jpegBytes)
  const phases: ReadonlyArray<{ name: string; upBytes: number; downBytes: number }> = [
    { name: "on the owner: JPEG to the owner, analysis back", upBytes: jpeg, downBytes: ANALYSIS_REPLY_BYTES },
    { name: "on the socket's node: analysis to the owner", upBytes: FRAME_ANALYSIS_BYTES, downBytes: 0 },
    {
      name: "on the socket's node, the owner replying: analysis both ways",
      upBytes: FRAME_ANALYSIS_BYTES,
      downBytes: ANALYSIS_REPLY_BYTES
    }
  ]
  const db = await createThrowawayDatabase(options.databaseUrl)
  const children: Array<Child> = []
  try {
    options.log("placement: starting an owner and a socket's node")
    const owner = await startChild("owner", db.url)
    children.push(owner)
    // The owner takes every shard before the other joins (which holds none).
    await sleep(3_000)
    const socket = await startChild("socket", db.url)
    children.push(socket)
    await sleep(3_000)
    // What each costs idle (cluster membership: heart-beats, lock refreshes, polling), per millisecond.
    const idleMs = 5_000
    const [o0, s0] = [await cpuOf(owner), await cpuOf(socket)]
    await sleep(idleMs)
    const [o1, s1] = [await cpuOf(owner), await cpuOf(socket)]
    const ownerIdle = (o1 - o0) / idleMs
    const socketIdle = (s1 - s0) / idleMs

    const rounds: Array<PlacementRound> = []
    for (let r = 0; r < options.rounds; r++) {
      const loadAverage = Math.round(loadavg()[0]! * 100) / 100
      // Alternate the order, round after round, so drift in the machine's load weighs on every placement.
      const order = r % 2 === 0 ? phases : [...phases].reverse()
      const rows: Array<PlacementRow> = []
      for (const p of order) {
        options.log(`placement${options.rounds > 1 ? ` (round ${r + 1})` : ""}: ${p.name}`)
        const phase: PlacementPhase = { ...p, messages, perSecond, entities: sessions }
        const windowStart = socket.next("window").then(() => cpuOf(owner))
        const result = await socket.request<{ received: number; seconds: number; cpuMs: number }>(
          { _tag: "phase", ...phase },
          "phase"
        )
        const ownerCpu = (await cpuOf(owner)) - (await windowStart)
        const windowMs = result.seconds * 1000
        rows.push({
          name: p.name,
          upBytes: p.upBytes,
          downBytes: p.downBytes,
          socketNodeMs: (result.cpuMs - socketIdle * windowMs) / messages,
          ownerMs: (ownerCpu - ownerIdle * windowMs) / messages,
          replies: result.received,
          messages
        })
      }
      rounds.push({ loadAverage, rows: phases.map((p) => rows.find((x) => x.name === p.name)!) })
    }
    return { messages, perSecond, sessions, rounds }
  } finally {
    for (const c of children.reverse()) await c.stop()
    await db.drop().catch(() => undefined)
  }
}
