import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { backends } from "../support/Backends.ts"
import { Client, upgradeStatus } from "./support/Candidate.ts"
import { type Engine, startEngine } from "./support/Engine.ts"

for (const backend of backends()) {
  describe(`recruiter live view on ${backend.name}`, () => {
    let engine: Engine
    let a: Awaited<ReturnType<Engine["seed"]>>
    let b: Awaited<ReturnType<Engine["seed"]>>
    const url = (id: string, key?: string) =>
      `${engine.wsUrl}/v1/interviews/${id}/live${key === undefined ? "" : `?key=${encodeURIComponent(key)}`}`

    beforeAll(async () => {
      engine = await startEngine(await backend.env())
      a = await engine.seed()
      b = await engine.seed()
    })
    afterAll(async () => {
      await engine?.close()
      await backend.cleanup()
    })

    it("authenticates with the tenant's API key before the upgrade and hides other tenants' interviews", async () => {
      expect(await upgradeStatus(url(a.interviewId))).toBe(401)
      expect(await upgradeStatus(url(a.interviewId, "cnd_not-a-key"))).toBe(401)
      expect(await upgradeStatus(url(a.interviewId, a.candidateToken))).toBe(401)
      expect(await upgradeStatus(url(b.interviewId, a.apiKey))).toBe(404)
      expect(await upgradeStatus(url(crypto.randomUUID(), a.apiKey))).toBe(404)
      expect(await upgradeStatus(url(a.interviewId, a.apiKey))).toBe(101)
      expect(await upgradeStatus(url(a.interviewId), { authorization: `Bearer ${a.apiKey}` })).toBe(101)
    })

    it("sends the live state, then each score event of the interview as it happens", async () => {
      const recruiter = await Client.connect(url(a.interviewId), { authorization: `Bearer ${a.apiKey}` })
      await recruiter.until((c) => c.invalid.length > 0, "live state")
      expect(JSON.parse(recruiter.invalid[0]!)).toMatchObject({
        _tag: "live",
        interviewId: a.interviewId,
        fields: { status: "scheduled", questionCount: "2" }
      })
      const c = await Client.candidate(engine.wsUrl, a.interviewId, a.candidateToken)
      c.send({ _tag: "start" })
      const q = await c.next("question", 0)
      c.send({ _tag: "answer", questionId: q.questionId, text: "Live." })
      await c.next("answerSaved", 0)
      const tags = () => recruiter.invalid.slice(1).map((t) => (JSON.parse(t) as { _tag: string })._tag)
      await recruiter.until(() => tags().includes("answerRecorded"), "events")
      expect(tags()).toEqual(["interviewStarted", "questionStarted", "answerRecorded"])
      const events = recruiter.invalid.slice(1).map((t) => JSON.parse(t) as { interviewId: string; seq: number })
      expect(events.every((e) => e.interviewId === a.interviewId)).toBe(true)
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3])
      // Another tenant's interview produces nothing here.
      const other = await Client.candidate(engine.wsUrl, b.interviewId, b.candidateToken)
      other.send({ _tag: "start" })
      await other.next("question", 0)
      expect(tags()).toHaveLength(3)
      c.close()
      other.close()
      recruiter.close()
    })
  })
}
