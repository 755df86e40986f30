/**
 * Three engines in cluster mode on loopback, sharing the real Postgres and Redis. An interview's session runs on
 * the runner that owns its shard, whichever node the candidate's socket reaches:
 *
 * - the socket's node dies (SIGKILL) after the first answer: the candidate reconnects through another node and
 *   finishes, with nothing the owner acknowledged lost;
 * - the owner dies (SIGKILL) mid-interview: a survivor takes its shards within the shipped failover time, and the
 *   candidate's socket (on a surviving node) resumes there without reconnecting; the report holds every
 *   acknowledged answer.
 *
 * Either way the interview's event sequence has no gap and no duplicate (one writer at a time).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Report } from "../../schemas/Report.ts"
import type { Client } from "../sessions/support/Candidate.ts"
import { singleFace } from "../sessions/support/faces.ts"
import { getJson } from "../support/Http.ts"
import {
  type Cluster,
  type Created,
  clusterServers,
  connect,
  createInterview,
  eventSeqs,
  expectContiguous,
  interview,
  type Node,
  ownerOf,
  startCluster
} from "./support.ts"

const jpeg = await singleFace()
const servers = clusterServers()

/** Sends a frame every `everyMs` until stopped or the socket closes. */
const streamFrames = (c: Client, from: number, everyMs = 150) => {
  let seq = from
  const timer = setInterval(() => {
    if (c.closed === undefined) c.sendFrame(seq++, jpeg)
  }, everyMs)
  return { stop: () => clearInterval(timer) }
}

/** Connects through `node` until the session answers (its shard may be moving); returns the client and the wait. */
const reconnect = async (node: Node, created: Created, timeoutMs = 30_000) => {
  const started = Date.now()
  while (true) {
    try {
      const c = await connect(node, created)
      await c.next("session", 0, 5_000)
      return { client: c, waitedMs: Date.now() - started }
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

describe.skipIf(servers === undefined)("interview sessions across three engines", () => {
  let cluster: Cluster
  let a: Node
  let b: Node
  let c: Node

  beforeAll(async () => {
    cluster = await startCluster(servers!, ["a", "b", "c"])
    ;[a, b, c] = cluster.nodes as [Node, Node, Node]
  }, 180_000)
  afterAll(async () => {
    await cluster?.close()
  })

  /** An interview whose session the given node owns (created through `via`). */
  const ownedBy = async (owner: Node, via: Node): Promise<Created> => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const created = await createInterview(cluster, via, `Candidate ${attempt}`)
      if ((await ownerOf(cluster, created.interviewId)) === owner) return created
    }
    throw new Error(`no interview landed on ${owner.name} in 40 tries`)
  }

  it("a candidate streaming through B to C's interview survives B's SIGKILL by reconnecting through A", async () => {
    const created = await ownedBy(c, a)
    const [q1, q2] = created.questions as [{ id: string }, { id: string }]
    const first = await connect(b, created)
    expect((await first.next("session", 0)).resumed).toBe(false)
    first.send({ _tag: "start" })
    expect((await first.next("question", 0)).questionId).toBe(q1.id)
    const frames = streamFrames(first, 0)
    await first.until((x) => x.of("analysis").length >= 3, "analyses relayed through B")
    first.send({ _tag: "answer", questionId: q1.id, text: "Sharded the queue by tenant." })
    const saved1 = await first.next("answerSaved", 0)
    await first.until((x) => x.of("analysis").length >= 6, "analyses after the answer")

    expect((await b.engine.kill()).signal).toBe("SIGKILL")
    frames.stop()
    expect((await first.closedWith(10_000)).code).toBe(1006)
    // The owner never went away.
    expect((await interview(cluster, a, created.interviewId)).live?.runner).toBe(c.runner)

    const { client: second } = await reconnect(a, created)
    const resumed = second.of("session")[0]!
    expect(resumed).toMatchObject({ resumed: true, answered: [q1.id], question: { questionId: q1.id } })
    const frames2 = streamFrames(second, resumed.lastSeq + 1)
    second.send({ _tag: "next", fromQuestionId: q1.id })
    expect((await second.next("question", 0)).questionId).toBe(q2.id)
    await second.until((x) => x.of("analysis").length >= 3, "analyses relayed through A")
    second.send({ _tag: "answer", questionId: q2.id, text: "Rolled back, then wrote the postmortem." })
    const saved2 = await second.next("answerSaved", 0)
    second.send({ _tag: "finish" })
    await second.next("finished", 0)
    frames2.stop()
    second.close()

    const report = await getJson<Report>(
      `${a.engine.url}/v1/interviews/${created.interviewId}/report`,
      cluster.seed.apiKey
    )
    expect(report.status).toBe("finished")
    expect(report.questions.map((q) => [q.questionId, q.answer?.answerId])).toEqual([
      [q1.id, saved1.answerId],
      [q2.id, saved2.answerId]
    ])
    expectContiguous(await eventSeqs(cluster, created.interviewId))
  }, 180_000)

  it("the owner's SIGKILL moves its shards to a survivor within 15 s; the candidate's socket resumes there", async () => {
    await cluster.start(b)
    const created = await ownedBy(c, a)
    const [q1, q2] = created.questions as [{ id: string }, { id: string }]
    const first = await connect(a, created)
    await first.next("session", 0)
    first.send({ _tag: "start" })
    await first.next("question", 0)
    const frames = streamFrames(first, 0)
    first.send({ _tag: "answer", questionId: q1.id, text: "Answered before the owner died." })
    const saved1 = await first.next("answerSaved", 0)
    await first.until((x) => x.of("analysis").length >= 4, "analyses from the owner")

    const killedAt = Date.now()
    expect((await c.engine.kill()).signal).toBe("SIGKILL")
    // The relaying node sends the socket's attachment to the shard's next owner: the same socket resumes there.
    const resumed = await first.next("session", 1, 20_000)
    const failoverMs = Date.now() - killedAt
    frames.stop()
    expect(failoverMs).toBeLessThan(15_000)
    expect(first.closed).toBeUndefined()
    expect(resumed).toMatchObject({ resumed: true, answered: [q1.id] })
    const owner = await ownerOf(cluster, created.interviewId)
    expect([a, b]).toContain(owner)
    const second = first

    const frames2 = streamFrames(second, resumed.lastSeq + 1)
    const analysed = second.of("analysis").length
    second.send({ _tag: "next", fromQuestionId: q1.id })
    expect((await second.next("question", 1)).questionId).toBe(q2.id)
    await second.until((x) => x.of("analysis").length >= analysed + 3, "analyses from the new owner")
    second.send({ _tag: "answer", questionId: q2.id, text: "Answered on the survivor." })
    const saved2 = await second.next("answerSaved", 1)
    second.send({ _tag: "finish" })
    await second.next("finished", 0)
    frames2.stop()
    second.close()

    const report = await getJson<Report>(
      `${b.engine.url}/v1/interviews/${created.interviewId}/report`,
      cluster.seed.apiKey
    )
    expect(report.questions.map((q) => [q.questionId, q.answer?.answerId])).toEqual([
      [q1.id, saved1.answerId],
      [q2.id, saved2.answerId]
    ])
    expectContiguous(await eventSeqs(cluster, created.interviewId))
    console.info(`owner killed: the candidate's socket resumed after ${failoverMs} ms (moved to ${owner?.name})`)
  }, 180_000)
})
