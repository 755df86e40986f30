/**
 * Operators and responsible hiring over HTTP: every read of candidate data and every decision is an audit row
 * (the key as actor, the request's address as source), the audit log is filtered and paged newest first, the
 * access-request export holds the candidate's data, self-identification stays out of reports and goes with the
 * interview, and impact ratios come out of a small sample as JSON and CSV.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { recordConsent } from "../support/Consent.ts"
import { makeAnswersConfig } from "../../src/answers/AnswersConfig.ts"
import { auditRoutes } from "../../src/http/routes/AuditRoutes.ts"
import { MediaStore } from "../../src/store/MediaStore.ts"
import { Tenants } from "../../src/store/Tenants.ts"
import { answer, type Client, client, completeReport, goodAnswers } from "../reports/support.ts"
import { upgradeStatus } from "../sessions/support/Candidate.ts"
import { backends } from "../support/Backends.ts"
import { startReportsServer } from "../support/ReportsServer.ts"
import type { TestServer } from "../support/TestServer.ts"

interface Entry {
  id: string
  at: string
  actor: string
  action: string
  subject: string
  source: string | null
  detail: Record<string, unknown>
}

interface Page {
  items: Array<Entry>
  nextCursor: string | null
}

interface Created {
  id: string
  token: string
  questionId: string
}

describe("audit routes", () => {
  it("declares the audit log, the export and impact ratios admin-only, and self-identification the candidate's", () => {
    const declared = auditRoutes.map((r) => `${r.method} ${r.path} ${r.access} ${r.role ?? "-"}`)
    expect(declared.sort()).toEqual(
      [
        "get /v1/audit apiKey admin",
        "get /v1/interviews/:id/export apiKey admin",
        "get /v1/audits/impact-ratios apiKey admin",
        "post /v1/interviews/:id/demographics candidate -"
      ].sort()
    )
  })
})

const loopback = /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1|0000:0000:0000:0000:0000:ffff:7f00:0001)$/u

for (const backend of backends()) {
  describe(`audit, export, self-identification and impact ratios on ${backend.name}`, () => {
    let server: TestServer
    let c: Client
    let seeded: Awaited<ReturnType<TestServer["seed"]>>
    let keyId: string

    const keyIdOf = async (apiKey: string) =>
      Option.getOrThrow(await server.run(Effect.flatMap(Tenants, (t) => t.authenticate(apiKey)))).keyId

    /** A new interview whose candidate consented to data processing (answers need it), unless `consent` is false. */
    const newInterview = async (as: Client, name: string, consent = true): Promise<Created> => {
      const r = await as.call("/v1/interviews", {
        method: "POST",
        body: JSON.stringify({
          candidate: { name },
          questions: [{ prompt: "Tell us about scaling a service.", expectedPoints: ["measure", "cache"] }]
        })
      })
      expect(r.status).toBe(201)
      const body = (await r.json()) as { id: string; candidateToken: string }
      const interview = (await (await as.call(`/v1/interviews/${body.id}`)).json()) as {
        questions: Array<{ id: string }>
      }
      if (consent)
        await recordConsent(
          server.url,
          { interviewId: body.id, candidateToken: body.candidateToken },
          "data_processing"
        )
      return { id: body.id, token: body.candidateToken, questionId: interview.questions[0]!.id }
    }

    const auditPage = async (query: Record<string, string>, as: Client = c): Promise<Page> => {
      const r = await as.call(`/v1/audit?${new URLSearchParams(query)}`)
      expect(r.status, await r.clone().text()).toBe(200)
      return (await r.json()) as Page
    }

    const demographics = (who: Created, body: unknown) =>
      c.call(`/v1/interviews/${who.id}/demographics`, { method: "POST", bearer: who.token, body: JSON.stringify(body) })

    const review = (who: Created, decision: string) =>
      c.call(`/v1/interviews/${who.id}/reviews`, {
        method: "POST",
        body: JSON.stringify({ reviewer: "Rita Recruiter", decision })
      })

    const demographicsRows = (interviewId: string) =>
      server.run(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ sex: string | null; race_ethnicity: string | null }>`
            SELECT sex, race_ethnicity FROM demographics WHERE interview_id = ${interviewId}`
        )
      )

    beforeAll(async () => {
      server = await startReportsServer(await backend.env(), makeAnswersConfig({ apiKeys: [] }))
      seeded = await server.seed()
      c = client(server, seeded.apiKey)
      keyId = await keyIdOf(seeded.apiKey)
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("records each read of candidate data and each decision with the key as actor and the request's address as source", async () => {
      const i = await newInterview(c, "Read Often", false)
      await server.run(
        Effect.flatMap(MediaStore, (m) =>
          m.put(`${i.id}/keyframes/1.jpg`, new Uint8Array([255, 216, 255]), "image/jpeg")
        )
      )
      expect((await c.call(`/v1/interviews/${i.id}/report`)).status).toBe(200)
      expect((await c.call(`/v1/interviews/${i.id}/report.html`)).status).toBe(200)
      expect((await c.call(`/v1/interviews/${i.id}/media/keyframes/1.jpg`)).status).toBe(200)
      expect((await c.call(`/v1/interviews/${i.id}/export`)).status).toBe(200)
      const wsUrl = `${server.url.replace(/^http/, "ws")}/v1/interviews/${i.id}/live`
      expect(await upgradeStatus(`${wsUrl}?key=${encodeURIComponent(seeded.apiKey)}`)).toBe(101)
      expect((await review(i, "hold")).status).toBe(201)
      expect((await c.call(`/v1/interviews/${i.id}/reviews`)).status).toBe(200)
      expect((await c.call(`/v1/interviews/${i.id}/consents`)).status).toBe(200)
      // A refused read is no read: not on record.
      expect((await c.call(`/v1/interviews/${i.id}/media/keyframes/missing.jpg`)).status).toBe(404)

      const page = await auditPage({ subject: i.id })
      expect(page.items.map((e) => e.action)).toEqual([
        "consents.read",
        "reviews.read",
        "review.create",
        "live.view",
        "interview.export",
        "media.read",
        "report.html.read",
        "report.read",
        "interview.read",
        "interview.create"
      ])
      for (const e of page.items) {
        expect(e).not.toHaveProperty("tenantId")
        expect(e.actor, e.action).toBe(`key:${keyId}`)
        expect(e.subject).toBe(i.id)
        expect(e.source ?? "", e.action).toMatch(loopback)
      }
      const ats = page.items.map((e) => Date.parse(e.at))
      expect(ats).toEqual([...ats].sort((a, b) => b - a))
      expect(page.items.find((e) => e.action === "media.read")?.detail).toEqual({ key: "keyframes/1.jpg" })
      expect(page.items.find((e) => e.action === "review.create")?.detail).toMatchObject({ decision: "hold" })
      expect(page.nextCursor).toBeNull()
    })

    it("filters by subject, actor, action and time, and pages newest first with a cursor", async () => {
      const j = await newInterview(c, "Paged", false)
      for (let n = 0; n < 5; n++) expect((await c.call(`/v1/interviews/${j.id}/report`)).status).toBe(200)
      expect((await demographics(j, { sex: "male" })).status).toBe(201)

      const all = (await auditPage({ subject: j.id, limit: "100" })).items
      expect(all.map((e) => e.action)).toEqual([
        "demographics.submit",
        ...Array(5).fill("report.read"),
        "interview.read",
        "interview.create"
      ])

      const reads: Array<Entry> = []
      const sizes: Array<number> = []
      let cursor: string | null = null
      do {
        const query: Record<string, string> = { subject: j.id, action: "report.read", limit: "2" }
        if (cursor !== null) query.cursor = cursor
        const page: Page = await auditPage(query)
        sizes.push(page.items.length)
        reads.push(...page.items)
        cursor = page.nextCursor
      } while (cursor !== null)
      expect(sizes).toEqual([2, 2, 1])
      expect(reads.map((e) => e.id)).toEqual(all.filter((e) => e.action === "report.read").map((e) => e.id))

      expect((await auditPage({ subject: j.id, actor: `candidate:${j.id}` })).items.map((e) => e.action)).toEqual([
        "demographics.submit"
      ])
      expect((await auditPage({ subject: j.id, actor: `key:${keyId}` })).items).toHaveLength(7)

      // [from, to): the third newest entry starts the window of `from` and ends the one of `to`.
      const pivot = all[2]!.at
      const since = (await auditPage({ subject: j.id, from: pivot })).items
      const before = (await auditPage({ subject: j.id, to: pivot })).items
      expect(since.map((e) => e.id)).toEqual(all.filter((e) => Date.parse(e.at) >= Date.parse(pivot)).map((e) => e.id))
      expect(before.map((e) => e.id)).toEqual(all.filter((e) => Date.parse(e.at) < Date.parse(pivot)).map((e) => e.id))
      expect(since.length + before.length).toBe(all.length)

      expect((await c.call(`/v1/audit?cursor=not-a-cursor`)).status).toBe(400)
      expect((await c.call(`/v1/audit?limit=0`)).status).toBe(400)
      expect((await c.call(`/v1/audit?from=yesterday`)).status).toBe(400)
      // Another tenant sees none of it.
      const other = await server.seed()
      expect((await auditPage({ subject: j.id }, client(server, other.apiKey))).items).toEqual([])
    })

    it("exports everything held about the candidate: answers, consents, reviews, self-identification, media", async () => {
      const k = await newInterview(c, "Access Request", false)
      const text = goodAnswers[0]!
      const consent = await c.call(`/v1/interviews/${k.id}/consents`, {
        method: "POST",
        bearer: k.token,
        body: JSON.stringify({ kind: "data_processing", granted: true, noticeVersion: "1" })
      })
      expect(consent.status).toBe(201)
      expect((await answer(c, k.token, k.id, k.questionId, text)).status).toBe(201)
      expect((await demographics(k, { sex: "declined", raceEthnicity: "asian" })).status).toBe(201)
      expect((await review(k, "advance")).status).toBe(201)
      await server.run(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.andThen(
            sql`INSERT INTO media_objects (key, interview_id, kind, content_type, bytes)
                VALUES (${`${k.id}/keyframes/7.jpg`}, ${k.id}, 'keyframe', 'image/jpeg', 3)`,
            // A second with affect signals off: no blinks, no emotion.
            sql`INSERT INTO score_windows (interview_id, second, question_id, frames, face_present, blinks, ear_mean, emotion)
                VALUES (${k.id}, 0, ${k.questionId}, 5, 1, NULL, NULL, NULL)`
          )
        )
      )

      const r = await c.call(`/v1/interviews/${k.id}/export`)
      expect(r.status).toBe(200)
      expect(r.headers.get("content-disposition")).toContain(k.id)
      const doc = (await r.json()) as any
      expect(doc.interview).toMatchObject({ id: k.id, candidate: { name: "Access Request" } })
      expect(doc.interview.tenantId).toBeUndefined()
      expect(doc.interview.questions.map((q: any) => q.id)).toEqual([k.questionId])
      expect(doc.answers).toEqual([expect.objectContaining({ questionId: k.questionId, source: "text", body: text })])
      expect(doc.consents).toEqual([
        expect.objectContaining({ kind: "data_processing", granted: true, noticeVersion: "1" })
      ])
      expect(doc.reviews).toEqual([expect.objectContaining({ reviewer: "Rita Recruiter", decision: "advance" })])
      expect(doc.demographics).toMatchObject({ sex: "declined", raceEthnicity: "asian", declined: false })
      expect(doc.media.map((m: any) => m.key)).toEqual([`${k.id}/keyframes/7.jpg`])
      for (const key of ["answerScores", "scoreEvents"]) expect(Array.isArray(doc[key]), key).toBe(true)
      expect(doc.scoreWindows).toEqual([
        { second: 0, questionId: k.questionId, frames: 5, facePresence: 1, blinks: null, emotion: null }
      ])

      const exports = (await auditPage({ subject: k.id, action: "interview.export" })).items
      expect(exports.map((e) => [e.actor, loopback.test(e.source ?? "")])).toEqual([[`key:${keyId}`, true]])
      const other = await server.seed()
      expect((await client(server, other.apiKey).call(`/v1/interviews/${k.id}/export`)).status).toBe(404)
    })

    it("keeps self-identification out of the report, JSON and HTML, and erases it with the interview", async () => {
      const m = await newInterview(c, "Self Identified")
      expect((await demographics(m, { sex: "male", raceEthnicity: "white" })).status).toBe(201)
      const stored = await demographics(m, { sex: "female", raceEthnicity: "american_indian_or_alaska_native" })
      expect(stored.status).toBe(201)
      expect(await stored.json()).toMatchObject({
        sex: "female",
        raceEthnicity: "american_indian_or_alaska_native",
        declined: false
      })
      expect(await demographicsRows(m.id)).toEqual([
        { sex: "female", race_ethnicity: "american_indian_or_alaska_native" }
      ])
      expect((await demographics(m, { sex: "other" })).status).toBe(400)
      expect((await demographics(m, { raceEthnicity: "martian" })).status).toBe(400)

      expect((await answer(c, m.token, m.id, m.questionId, goodAnswers[1]!)).status).toBe(201)
      expect((await c.call(`/v1/interviews/${m.id}/finish`, { method: "POST", bearer: m.token })).status).toBe(200)
      const report = JSON.stringify(await completeReport(c, m.id))
      const html = await (await c.call(`/v1/interviews/${m.id}/report.html`)).text()
      for (const [what, text] of [
        ["report JSON", report],
        ["report HTML", html]
      ] as const) {
        expect(text, what).not.toMatch(/american_indian|alaska|female|demographic|race|ethnicity/iu)
      }

      const submitted = (await auditPage({ subject: m.id, action: "demographics.submit" })).items
      expect(submitted).toHaveLength(2)
      for (const e of submitted) {
        expect(e.actor).toBe(`candidate:${m.id}`)
        expect(e.detail).toEqual({})
        expect(e.source ?? "").toMatch(loopback)
      }

      expect((await c.call(`/v1/interviews/${m.id}`, { method: "DELETE" })).status).toBe(204)
      expect(await demographicsRows(m.id)).toEqual([])
      // What outlives the interview (the audit log) holds none of the answers.
      const left = JSON.stringify((await auditPage({ subject: m.id })).items)
      expect(left).not.toMatch(/american_indian|female/u)
    })

    it("computes impact ratios of a small sample over HTTP, selection and scoring bases, as JSON and CSV", async () => {
      const tenant = await server.seed() // its demo interview: no self-identification, no review, not finished
      const t = client(server, tenant.apiKey)
      const people: Array<[string, string, string | null, ReadonlyArray<string>, string]> = [
        ["A", "female", "white", ["advance"], goodAnswers[0]!],
        ["B", "female", "asian", ["reject"], "I am not sure."],
        ["C", "male", "white", ["advance"], goodAnswers[1]!],
        ["D", "male", "white", ["hold", "advance"], "We measured first, then added a cache and scaled out."],
        ["E", "male", "asian", ["advance", "reject"], "Caching."],
        ["F", "declined", "declined", ["advance"], `${goodAnswers[0]!} ${goodAnswers[1]!}`]
      ]
      const created: Array<Created> = []
      for (const [name, sex, race, decisions, text] of people) {
        const who = await newInterview(t, name)
        created.push(who)
        const r = await t.call(`/v1/interviews/${who.id}/demographics`, {
          method: "POST",
          bearer: who.token,
          body: JSON.stringify({ sex, ...(race === null ? {} : { raceEthnicity: race }) })
        })
        expect(r.status).toBe(201)
        for (const decision of decisions) {
          const rv = await t.call(`/v1/interviews/${who.id}/reviews`, {
            method: "POST",
            body: JSON.stringify({ reviewer: "Rita Recruiter", decision })
          })
          expect(rv.status).toBe(201)
        }
        expect((await answer(t, who.token, who.id, who.questionId, text)).status).toBe(201)
        expect((await t.call(`/v1/interviews/${who.id}/finish`, { method: "POST", bearer: who.token })).status).toBe(
          200
        )
      }

      const rowOf = (table: any, group: string, category: string) =>
        table.groups.find((g: any) => g.group === group).rows.find((r: any) => r.category === category)
      const groupOf = (table: any, group: string) => table.groups.find((g: any) => g.group === group)

      // Selection: the latest decision counts (D advanced after a hold, E was rejected after an advance).
      const sel = await t.call("/v1/audits/impact-ratios?basis=selection")
      expect(sel.status).toBe(200)
      const selection = (await sel.json()) as any
      expect(selection).toMatchObject({ basis: "selection", sampleSize: 7, selected: 4, excluded: 0 })
      expect(rowOf(selection, "sex", "female")).toMatchObject({
        candidates: 2,
        selected: 1,
        rate: 0.5,
        impactRatio: 0.75,
        belowFourFifths: true,
        smallCategory: false
      })
      expect(rowOf(selection, "sex", "male")).toMatchObject({ candidates: 3, selected: 2, impactRatio: 1 })
      expect(rowOf(selection, "sex", "male").rate).toBeCloseTo(2 / 3, 12)
      expect(groupOf(selection, "sex")).toMatchObject({ unknown: 2, declined: 1 })
      expect(rowOf(selection, "race_ethnicity", "white")).toMatchObject({ candidates: 3, selected: 3, impactRatio: 1 })
      expect(rowOf(selection, "race_ethnicity", "asian")).toMatchObject({
        candidates: 2,
        selected: 0,
        impactRatio: 0,
        belowFourFifths: true
      })
      expect(rowOf(selection, "race_ethnicity", "hispanic_or_latino")).toMatchObject({
        candidates: 0,
        rate: null,
        impactRatio: null,
        smallCategory: true
      })
      expect(rowOf(selection, "intersection", "male/white")).toMatchObject({ candidates: 2, selected: 2, rate: 1 })
      expect(rowOf(selection, "intersection", "female/asian")).toMatchObject({ candidates: 1, selected: 0 })
      expect(groupOf(selection, "intersection")).toMatchObject({ unknown: 2, declined: 1 })

      const csv = await t.call("/v1/audits/impact-ratios?basis=selection", { headers: { accept: "text/csv" } })
      expect(csv.status).toBe(200)
      expect(csv.headers.get("content-type")).toMatch(/^text\/csv/u)
      const lines = (await csv.text()).trim().split("\r\n")
      expect(lines[0]).toBe(
        "group,category,sex,race_ethnicity,candidates,selected,rate,impact_ratio,small_category,below_four_fifths"
      )
      expect(lines).toContain("sex,female,female,,2,1,0.5,0.75,false,true")
      expect(lines).toContain("sex,male,male,,3,2,0.6667,1,false,false")
      expect(lines).toContain("race_ethnicity,asian,,asian,2,0,0,0,false,true")
      expect(lines).toContain("sex,unknown,,,2,,,,,")
      expect(lines).toContain("sex,declined,,,1,,,,,")
      const spec = (await (await t.call("/v1/openapi.json")).json()) as any
      expect(Object.keys(spec.paths["/v1/audits/impact-ratios"].get.responses["200"].content)).toEqual([
        "application/json",
        "text/csv"
      ])

      // Scoring: above the median overall score of the complete reports (the demo interview has none).
      const scores = new Map<string, number>()
      for (const who of created) scores.set(who.id, (await completeReport(t, who.id)).overall.score!)
      const ordered = [...scores.values()].sort((a, b) => a - b)
      const median = (ordered[2]! + ordered[3]!) / 2
      const above = created.map((who) => scores.get(who.id)! > median)
      const scoring = (await (await t.call("/v1/audits/impact-ratios?basis=scoring")).json()) as any
      expect(scoring).toMatchObject({ basis: "scoring", sampleSize: 6, excluded: 1, median })
      expect(scoring.selected).toBe(above.filter(Boolean).length)
      const rateOf = (indices: ReadonlyArray<number>) => indices.filter((n) => above[n]).length / indices.length
      const female = rateOf([0, 1])
      const male = rateOf([2, 3, 4])
      const best = Math.max(female, male)
      expect(rowOf(scoring, "sex", "female").rate).toBeCloseTo(female, 12)
      expect(rowOf(scoring, "sex", "male").rate).toBeCloseTo(male, 12)
      if (best > 0) expect(rowOf(scoring, "sex", "female").impactRatio).toBeCloseTo(female / best, 12)
      expect(rowOf(scoring, "race_ethnicity", "white").rate).toBeCloseTo(rateOf([0, 2, 3]), 12)

      // The period: interviews created from the future on are none.
      const future = new Date(Date.now() + 86_400_000).toISOString()
      const empty = (await (await t.call(`/v1/audits/impact-ratios?from=${future}`)).json()) as any
      expect(empty.sampleSize).toBe(0)
      expect((await t.call("/v1/audits/impact-ratios?basis=vibes")).status).toBe(400)
      // The first tenant's sample is its own.
      const own = (await (await c.call("/v1/audits/impact-ratios")).json()) as any
      expect(rowOf(own, "intersection", "male/asian").candidates).toBe(0)
    })
  })
}
