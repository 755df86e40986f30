import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { JoinTokens } from "../../src/http/JoinTokens.ts"
import { encodeFrame } from "../../src/pipeline/FrameProtocol.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { backends } from "../support/Backends.ts"
import { Client, upgradeStatus } from "./support/Candidate.ts"
import { type Engine, startEngine } from "./support/Engine.ts"
import { singleFace } from "./support/faces.ts"
import { consentToAll } from "../support/Consent.ts"

const jpeg = await singleFace()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const backend of backends()) {
  describe(`candidate socket on ${backend.name}`, () => {
    let engine: Engine
    let a: Awaited<ReturnType<Engine["seed"]>>
    let b: Awaited<ReturnType<Engine["seed"]>>
    const streamUrl = (id: string, token?: string) =>
      `${engine.wsUrl}/v1/interviews/${id}/stream${token === undefined ? "" : `?token=${encodeURIComponent(token)}`}`
    const issue = (interviewId: string, tenantId: string) =>
      engine.run(Effect.flatMap(JoinTokens, (t) => t.issue(interviewId, tenantId)))
    /** A fresh interview of tenant A with its token. */
    const interviewOfA = async () => {
      const created = await engine.run(
        Effect.flatMap(Interviews, (r) =>
          r.create(
            a.tenantId,
            { candidate: { name: "Extra" }, questions: [{ prompt: "One?" }, { prompt: "Two?" }] },
            true
          )
        )
      )
      const token = (await issue(created.id, a.tenantId)).token
      await consentToAll(engine.url, { interviewId: created.id, candidateToken: token })
      return { id: created.id, token, questions: created.questions }
    }

    beforeAll(async () => {
      engine = await startEngine(await backend.env(), {
        maxFps: 10,
        notReadingTimeoutMs: 1_500,
        softBackpressureBytes: 16 * 1024,
        maxErrorsPer10s: 1_000_000
      })
      a = await engine.seed()
      b = await engine.seed()
    })
    afterAll(async () => {
      await engine?.close()
      await backend.cleanup()
    })

    it("checks the token and the interview before the upgrade", async () => {
      const other = await interviewOfA()
      expect(await upgradeStatus(streamUrl(a.interviewId))).toBe(401)
      expect(await upgradeStatus(streamUrl(a.interviewId, "not-a-token"))).toBe(401)
      expect(await upgradeStatus(streamUrl(other.id, a.candidateToken))).toBe(403)
      expect(await upgradeStatus(streamUrl(b.interviewId, (await issue(b.interviewId, a.tenantId)).token))).toBe(403)
      const ghost = crypto.randomUUID()
      expect(await upgradeStatus(streamUrl(ghost, (await issue(ghost, a.tenantId)).token))).toBe(404)
      const refused = await Client.connect(streamUrl(a.interviewId, "x")).catch(
        (e) => e as { status: number; body: string }
      )
      expect(JSON.parse((refused as { body: string }).body).error.code).toBe("unauthorized")
      // A finished interview takes no socket.
      const c = await Client.candidate(engine.wsUrl, other.id, other.token)
      c.send({ _tag: "finish" })
      await c.next("finished", 0)
      expect((await c.closedWith()).code).toBe(1000)
      expect(await upgradeStatus(streamUrl(other.id, other.token))).toBe(409)
    })

    it("analyses frames before start (the camera check) and refuses answers to unknown or past questions", async () => {
      const it = await interviewOfA()
      const c = await Client.candidate(engine.wsUrl, it.id, it.token)
      await c.next("session", 0)
      c.sendFrame(1, jpeg)
      c.sendFrame(2, jpeg)
      await c.until((x) => x.of("analysis").length === 2, "two analyses")
      expect(c.of("analysis").map((a) => [a.seq, a.faces.length])).toEqual([
        [1, 1],
        [2, 1]
      ])
      expect(c.of("error")).toEqual([])
      c.send({ _tag: "start" })
      const q1 = await c.next("question", 0)
      c.send({ _tag: "answer", questionId: "no-such-question", text: "?" })
      c.send({ _tag: "next" })
      await c.next("question", 1)
      c.send({ _tag: "answer", questionId: q1.questionId, text: "late" })
      await c.until((x) => x.of("error").length === 2, "two refusals")
      expect(c.of("error").map((e) => e.code)).toEqual(["unknown_question", "not_current_question"])
      c.send({ _tag: "ping", t: 42 })
      expect(await c.next("pong", 0)).toEqual({ _tag: "pong", t: 42 })
      c.close()
    })

    it("caps frames per socket and asks the client to slow down", async () => {
      const it = await interviewOfA()
      const c = await Client.candidate(engine.wsUrl, it.id, it.token)
      c.send({ _tag: "start" })
      await c.next("question", 0)
      for (let i = 0; i < 40; i++) c.sendFrame(i, jpeg)
      await c.until((x) => x.of("analysis").length + x.of("error").length === 40, "a reply for every frame")
      const limited = c.of("error").filter((e) => e.code === "rate_limited")
      expect(limited.length).toBeGreaterThanOrEqual(25)
      expect(c.of("analysis").length + c.of("error").filter((e) => e.code === "frame_shed").length).toBe(
        40 - limited.length
      )
      expect(c.of("slowDown")[0]).toEqual({ _tag: "slowDown", maxFps: 10 })
      c.close()
    })

    it("lets a second socket for the same interview take over", async () => {
      const it = await interviewOfA()
      const first = await Client.candidate(engine.wsUrl, it.id, it.token)
      await first.next("session", 0)
      const second = await Client.candidate(engine.wsUrl, it.id, it.token)
      await second.next("session", 0)
      expect((await first.closedWith()).code).toBe(4001)
      expect(first.of("error").map((e) => e.code)).toEqual(["replaced"])
      second.send({ _tag: "start" })
      await second.next("question", 0)
      second.close()
    })

    it("closes a socket that sends a message over the size limit", async () => {
      const it = await interviewOfA()
      const c = await Client.candidate(engine.wsUrl, it.id, it.token)
      await c.next("session", 0)
      c.sendBinary(encodeFrame(1, Date.now(), new Uint8Array(2.5 * 1024 * 1024)))
      expect(await c.closedWith()).toEqual({ code: 1009, reason: "message too large" })
      expect(c.of("error").map((e) => e.code)).toEqual(["too_large"])
      // Past the hard limit uWS drops the connection without reading further.
      const d = await Client.candidate(engine.wsUrl, it.id, it.token)
      await d.next("session", 0)
      d.sendBinary(new Uint8Array(6 * 1024 * 1024))
      expect((await d.closedWith()).code).toBe(1006)
    })

    it("cuts off a client that never reads, while other sessions go on", async () => {
      const slow = await interviewOfA()
      const fast = await interviewOfA()
      const s = await Client.candidate(engine.wsUrl, slow.id, slow.token)
      await s.next("session", 0)
      // Stop reading: the kernel buffers fill, then the server's.
      ;(s.ws as unknown as { _socket: { pause: () => void } })._socket.pause()
      // Each invalid message earns an error reply: 150,000 replies are far more than the kernel buffers hold.
      const invalid = '{"_tag":"answer","questionId":1,"text":2}'
      for (let i = 0; i < 150_000; i++) s.ws.send(invalid)
      const f = await Client.candidate(engine.wsUrl, fast.id, fast.token)
      f.send({ _tag: "start" })
      await f.next("question", 0)
      for (let i = 0; i < 5; i++) {
        f.sendFrame(i, jpeg)
        await sleep(120)
      }
      await f.until((x) => x.of("analysis").length === 5, "analyses of the healthy session")
      ;(s.ws as unknown as { _socket: { resume: () => void } })._socket.resume()
      const closed = await s.closedWith()
      expect(closed.code).toBe(4002)
      expect(s.of("error").length).toBeLessThan(150_000)
      f.close()
    })
  })
}
