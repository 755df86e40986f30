/**
 * Consent that counts: without the candidate's consent to data processing on the tenant's current notice, frames
 * are refused (`consent_required`) and HTTP answers get 403; without consent to affect analysis, frames are
 * analysed without emotion and the report says why; a withdrawal counts from the next frame on and keeps the
 * answers; a decision on an older notice does not count.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Report } from "../../schemas/Report.ts"
import { SessionRegistry } from "../../src/actors/SessionRegistry.ts"
import { backends } from "../support/Backends.ts"
import { recordConsent } from "../support/Consent.ts"
import { Client } from "./support/Candidate.ts"
import { type Engine, type Seeded, startEngine } from "./support/Engine.ts"
import { singleFace } from "./support/faces.ts"

const face = await singleFace()

/** Sends frames `from`…`from + count - 1` and waits until each has its reply (an analysis or an error). */
const framesReplied = async (c: Client, from: number, count: number) => {
  for (let seq = from; seq < from + count; seq++) c.sendFrame(seq, face)
  const replied = (x: Client) =>
    x.of("analysis").filter((a) => a.seq >= from && a.seq < from + count).length +
    x.of("error").filter((e) => e.seq !== undefined && e.seq >= from && e.seq < from + count).length
  await c.until((x) => replied(x) >= count, `replies to frames ${from}…${from + count - 1}`)
  return {
    analyses: c.of("analysis").filter((a) => a.seq >= from && a.seq < from + count),
    errors: c.of("error").filter((e) => e.seq !== undefined && e.seq >= from && e.seq < from + count)
  }
}

const consent = async (
  engine: Engine,
  s: Seeded,
  kind: "data_processing" | "affect_analysis",
  granted = true,
  v = "1"
) => expect((await recordConsent(engine.url, s, kind, granted, v)).status).toBe(201)

for (const backend of backends()) {
  describe(`consent on ${backend.name}`, () => {
    let engine: Engine

    beforeAll(async () => {
      engine = await startEngine(await backend.env())
    })
    afterAll(async () => {
      await engine?.close()
      await backend.cleanup()
    })

    const answerOverHttp = (s: Seeded, questionId: string) =>
      fetch(`${engine.url}/v1/interviews/${s.interviewId}/answers`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.candidateToken}`, "content-type": "application/json" },
        body: JSON.stringify({ questionId, text: "A careful answer." })
      })

    it("refuses frames and HTTP answers before consent, and analyses frames once it is recorded", async () => {
      const s = await engine.seedWithoutConsent()
      const c = await Client.candidate(engine.wsUrl, s.interviewId, s.candidateToken)
      expect((await c.next("session", 0)).consentRequired).toBe(true)
      c.send({ _tag: "start" })
      const q = await c.next("question", 0)
      const before = await framesReplied(c, 0, 3)
      expect(before.analyses).toEqual([])
      expect(before.errors.map((e) => [e.code, e.seq])).toEqual([
        ["consent_required", 0],
        ["consent_required", 1],
        ["consent_required", 2]
      ])
      const refused = await answerOverHttp(s, q.questionId)
      expect(refused.status).toBe(403)
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("consent_required")

      await consent(engine, s, "data_processing")
      // The live socket hears that consent is no longer needed.
      expect((await c.next("session", 1)).consentRequired).toBe(false)
      const after = await framesReplied(c, 3, 3)
      expect(after.errors).toEqual([])
      expect(after.analyses.map((a) => a.seq)).toEqual([3, 4, 5])
      expect((await answerOverHttp(s, q.questionId)).status).toBe(201)
      c.ws.close()
    }, 120_000)

    it("analyses without emotion when affect analysis is declined, and the report says why", async () => {
      const s = await engine.seedWithoutConsent()
      await consent(engine, s, "data_processing")
      await consent(engine, s, "affect_analysis", false)
      const c = await Client.candidate(engine.wsUrl, s.interviewId, s.candidateToken)
      const hello = await c.next("session", 0)
      expect(hello).toMatchObject({ consentRequired: false, affectSignals: false })
      c.send({ _tag: "start" })
      const q = await c.next("question", 0)
      const { analyses, errors } = await framesReplied(c, 0, 4)
      expect(errors).toEqual([])
      const faces = analyses.flatMap((a) => a.faces)
      expect(faces.length).toBeGreaterThan(0)
      expect(faces.every((f) => f.emotion === null)).toBe(true)
      expect(c.of("score").some((m) => m.event._tag === "emotion" || m.event._tag === "blink")).toBe(false)
      c.send({ _tag: "answer", questionId: q.questionId, text: "An answer." })
      await c.next("answerSaved", 0)
      c.send({ _tag: "finish" })
      await c.next("finished", 0)
      const report = (await (
        await fetch(`${engine.url}/v1/interviews/${s.interviewId}/report`, {
          headers: { authorization: `Bearer ${s.apiKey}` }
        })
      ).json()) as Report
      expect(report.affectNotUsed).toBe("candidate_declined")
      expect(report.affectSignals).toBe(false)
      expect(report.affect).toBeNull()
      expect(report.signalsUsed).not.toContain("emotion")
      expect(report.signalsUsed).not.toContain("blinks")
      expect(report.noticeVersion).toBe("1")
      expect(report.consents.map((x) => [x.kind, x.granted, x.noticeVersion])).toEqual([
        ["data_processing", true, "1"],
        ["affect_analysis", false, "1"]
      ])
      expect(report.consents.every((x) => !Number.isNaN(Date.parse(x.createdAt)))).toBe(true)
    }, 120_000)

    it("stops analysing frames at once when consent is withdrawn, and keeps the answers", async () => {
      const s = await engine.seedWithoutConsent()
      await consent(engine, s, "data_processing")
      await consent(engine, s, "affect_analysis")
      const c = await Client.candidate(engine.wsUrl, s.interviewId, s.candidateToken)
      expect((await c.next("session", 0)).consentRequired).toBe(false)
      c.send({ _tag: "start" })
      const q = await c.next("question", 0)
      expect((await framesReplied(c, 0, 3)).analyses.length).toBe(3)
      expect((await answerOverHttp(s, q.questionId)).status).toBe(201)

      // Affect withdrawn: frames are still analysed, without emotion.
      await consent(engine, s, "affect_analysis", false)
      expect(await c.next("session", 1)).toMatchObject({ affectSignals: false, consentRequired: false })
      const noAffect = await framesReplied(c, 3, 3)
      expect(noAffect.analyses.length).toBe(3)
      expect(noAffect.analyses.flatMap((a) => a.faces).every((f) => f.emotion === null)).toBe(true)

      // Data processing withdrawn: the next frames are refused.
      await consent(engine, s, "data_processing", false)
      expect((await c.next("session", 2)).consentRequired).toBe(true)
      const refused = await framesReplied(c, 6, 3)
      expect(refused.analyses).toEqual([])
      expect(refused.errors.map((e) => e.code)).toEqual(["consent_required", "consent_required", "consent_required"])
      const answers = await engine.run(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM answers WHERE interview_id = ${s.interviewId}`
        )
      )
      expect(answers[0]!.n).toBe(1)
      c.ws.close()
    }, 120_000)

    it("does not count a consent given on an older notice once the tenant's notice version changes", async () => {
      const s = await engine.seedWithoutConsent()
      await consent(engine, s, "data_processing")
      await engine.run(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`UPDATE tenants SET notice_version = '2' WHERE id = ${s.tenantId}`
          // The live session (started when the consent was told) stops; the next one reads the tenant afresh.
          const handle = (yield* SessionRegistry).find(s.interviewId)
          if (handle !== undefined) yield* handle.stop("passivate")
        })
      )
      const c = await Client.candidate(engine.wsUrl, s.interviewId, s.candidateToken)
      expect((await c.next("session", 0)).consentRequired).toBe(true)
      c.send({ _tag: "start" })
      await c.next("question", 0)
      expect((await framesReplied(c, 0, 2)).errors.map((e) => e.code)).toEqual(["consent_required", "consent_required"])

      // Consent on the old notice again still does not count; on the current one it does.
      await consent(engine, s, "data_processing", true, "1")
      expect((await c.next("session", 1)).consentRequired).toBe(true)
      await consent(engine, s, "data_processing", true, "2")
      expect((await c.next("session", 2)).consentRequired).toBe(false)
      expect((await framesReplied(c, 2, 2)).analyses.map((a) => a.seq)).toEqual([2, 3])
      c.ws.close()
    }, 120_000)

    it("a new notice published while a session is live counts at once: frames wait for consent on it", async () => {
      const s = await engine.seedWithoutConsent()
      await consent(engine, s, "data_processing")
      const c = await Client.candidate(engine.wsUrl, s.interviewId, s.candidateToken)
      expect((await c.next("session", 0)).consentRequired).toBe(false)
      c.send({ _tag: "start" })
      await c.next("question", 0)
      expect((await framesReplied(c, 0, 1)).analyses.map((a) => a.seq)).toEqual([0])

      const patched = await fetch(`${engine.url}/v1/tenant`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${s.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ noticeVersion: "3" })
      })
      expect(patched.status).toBe(200)
      // The live session was told before the tenant's answer: the socket hears it, and the next frames wait.
      expect((await c.next("session", 1)).consentRequired).toBe(true)
      expect((await framesReplied(c, 1, 2)).errors.map((e) => e.code)).toEqual(["consent_required", "consent_required"])
      await consent(engine, s, "data_processing", true, "3")
      expect((await c.next("session", 2)).consentRequired).toBe(false)
      expect((await framesReplied(c, 3, 1)).analyses.map((a) => a.seq)).toEqual([3])
      c.ws.close()
    }, 120_000)
  })
}
