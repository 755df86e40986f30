import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { encodeFrame } from "../../src/pipeline/FrameProtocol.ts"
import { backends } from "../support/Backends.ts"
import { Client } from "./support/Candidate.ts"
import { type Engine, startEngine } from "./support/Engine.ts"
import { singleFace } from "./support/faces.ts"

const jpeg = await singleFace()
const MESSAGES = 10_000
const BURST = 100

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

type Message = { readonly binary: boolean; readonly bytes: Uint8Array | string; readonly oversized?: true }

const messageGenerator = (rand: () => number, questionIds: ReadonlyArray<string>) => {
  const int = (n: number) => Math.floor(rand() * n)
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256))
  const pick = <A>(xs: ReadonlyArray<A>) => xs[int(xs.length)]!
  const json = (): unknown => {
    const tag = pick(["start", "answer", "next", "ping", "dance", "", 7, null, "ANSWER"])
    const fields: Record<string, unknown> = { _tag: tag }
    if (rand() < 0.6) fields.questionId = pick([...questionIds, "nope", 5, null, "x".repeat(100)])
    if (rand() < 0.6) fields.text = pick(["an answer", "", "   ", 12, ["x"], "y".repeat(int(30_000))])
    if (rand() < 0.3) fields.t = pick([1, "soon", Number.MAX_VALUE, null])
    if (rand() < 0.2) fields.fromQuestionId = pick([...questionIds, 3])
    return rand() < 0.1 ? [fields] : fields
  }
  return (): Message => {
    const r = rand()
    if (r < 0.15) return { binary: true, bytes: bytes(int(200)) }
    if (r < 0.25) return { binary: true, bytes: encodeFrame(int(1e6), Date.now(), jpeg).slice(0, int(14)) }
    if (r < 0.35) {
      const frame = encodeFrame(int(1e6), rand() < 0.2 ? Number.NaN : Date.now(), bytes(int(500)))
      if (frame.length >= 16 && rand() < 0.5) frame.set([0xff, 0xd8], 14)
      if (rand() < 0.3) frame[0] = int(4)
      if (rand() < 0.3) frame[1] = int(4)
      return { binary: true, bytes: frame }
    }
    if (r < 0.42) return { binary: true, bytes: encodeFrame(int(1e6), Date.now(), jpeg) }
    if (r < 0.5) return { binary: false, bytes: new TextDecoder().decode(bytes(int(100))) }
    if (r < 0.55) return { binary: false, bytes: "" }
    if (r < 0.9) return { binary: false, bytes: JSON.stringify(json()) }
    if (r < 0.998) return { binary: false, bytes: `{"_tag":"answer","questionId":"q","text":"${"z".repeat(100_000)}"}` }
    return {
      binary: true,
      bytes: new Uint8Array(rand() < 0.8 ? 2 * 1024 * 1024 + 1 + int(1000) : 4 * 1024 * 1024),
      oversized: true
    }
  }
}

/** Messages the server sends in reply to exactly one client message. */
const replyTags = new Set(["error", "analysis", "pong", "question", "answerSaved"])
const replies = (c: Client) => c.messages.filter((m) => replyTags.has(m._tag)).length

for (const backend of backends()) {
  describe(`fuzzing the candidate socket on ${backend.name}`, () => {
    let engine: Engine
    beforeAll(async () => {
      engine = await startEngine(await backend.env())
    })
    afterAll(async () => {
      await engine?.close()
      await backend.cleanup()
    })

    it(`answers ${MESSAGES} random, truncated and oversized messages with an error or a policy close, and keeps serving`, async () => {
      const fuzzed = await engine.seed()
      const healthy = await engine.seed()
      const rand = random(20_240_601)
      const probe = await Client.candidate(engine.wsUrl, healthy.interviewId, healthy.candidateToken)
      probe.send({ _tag: "start" })
      await probe.next("question", 0)
      const next = messageGenerator(rand, ["q-unknown", crypto.randomUUID()])
      const connections: Array<{ sent: number; replies: number; closed: number | undefined }> = []
      let sent = 0
      let probeFrames = 0
      let client = await Client.candidate(engine.wsUrl, fuzzed.interviewId, fuzzed.candidateToken)
      let sentHere = 0
      const settle = async () => {
        await client.until((c) => c.closed !== undefined || replies(c) >= sentHere, "replies", 20_000)
        // A reply can precede the close it announces (too_large, then 1009): wait for the close too.
        const last = client.messages.at(-1)
        if (last?._tag === "error" && last.code === "too_large") await client.closedWith()
        if (client.closed !== undefined) {
          connections.push({ sent: sentHere, replies: replies(client), closed: client.closed.code })
          client = await Client.candidate(engine.wsUrl, fuzzed.interviewId, fuzzed.candidateToken)
          sentHere = 0
        }
      }
      while (sent < MESSAGES) {
        for (let i = 0; i < BURST && sent < MESSAGES && client.closed === undefined; i++) {
          const m = next()
          if (m.binary) client.sendBinary(m.bytes as Uint8Array)
          else client.send(m.bytes as string)
          sent++
          sentHere++
          if (m.oversized) break
        }
        probe.sendFrame(probeFrames++, jpeg)
        await settle()
      }
      await settle()
      connections.push({ sent: sentHere, replies: replies(client), closed: client.closed?.code })
      client.close()
      expect(connections.reduce((n, c) => n + c.sent, 0)).toBe(MESSAGES)
      for (const c of connections) {
        if (c.closed === undefined) expect(c.replies).toBe(c.sent)
        else expect([1006, 1008, 1009]).toContain(c.closed)
        // A 1009 close comes after a reply to every message before the one that caused it, except frames the
        // session had accepted and was still analysing (at most its mailbox and in-flight frames).
        if (c.closed === 1009) expect(c.sent - c.replies).toBeLessThanOrEqual(10)
      }
      expect(connections.some((c) => c.closed === 1008)).toBe(true)
      // The other session was served throughout: every probe frame got its analysis.
      await probe.until((c) => c.of("analysis").length + c.of("error").length >= probeFrames, "probe replies")
      expect(probe.of("analysis").length).toBeGreaterThanOrEqual(probeFrames - probe.of("error").length)
      expect(probe.of("error").every((e) => e.code === "rate_limited" || e.code === "frame_shed")).toBe(true)
      expect(probe.closed).toBeUndefined()
      // And a new session works from start to finish.
      const after = await engine.seed()
      const c = await Client.candidate(engine.wsUrl, after.interviewId, after.candidateToken)
      c.send({ _tag: "start" })
      const q = await c.next("question", 0)
      c.sendFrame(1, jpeg)
      await c.next("analysis", 0)
      c.send({ _tag: "answer", questionId: q.questionId, text: "Fine." })
      await c.next("answerSaved", 0)
      c.send({ _tag: "finish" })
      await c.next("finished", 0)
      probe.close()
    }, 240_000)
  })
}
