/**
 * Negative authorisation: every route refuses the credentials it must refuse, and a refused request changes
 * nothing. Each case fails if the check it covers is removed: a bypass either succeeds (2xx, 101) or changes
 * the database, and the database is compared table by table before and after every refused request.
 *
 * - Candidate routes and the candidate socket with the token of another interview (same tenant, other tenant):
 *   403. With an expired token: 401.
 * - Every recruiter route of the OpenAPI document (security: API key) with a candidate token: 401; the recruiter
 *   live socket too.
 * - The operator routes with a wrong admin token or none: 403.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { JoinTokens, make as makeJoinTokens } from "../../src/http/JoinTokens.ts"
import { adminRoutesWith } from "../../src/http/routes/AdminRoutes.ts"
import { AdminToken } from "../../src/http/Server.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { upgradeStatus } from "../sessions/support/Candidate.ts"
import { type Engine, startEngine } from "../sessions/support/Engine.ts"
import { backends } from "../support/Backends.ts"

const secret = "authz-test-secret-".padEnd(48, "x")
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Target {
  readonly tenantId: string
  readonly interviewId: string
  readonly questionId: string
  readonly token: string
}

interface Call {
  readonly label: string
  readonly path: string
  readonly init: RequestInit
}

/** One request per candidate route, each one that would store something (or finish the interview) if let through. */
const candidateCalls = (target: Target): Array<Call> => {
  const base = `/v1/interviews/${target.interviewId}`
  const upload = "00000000-0000-4000-8000-000000000000"
  const json = (body: unknown): RequestInit => ({
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" }
  })
  return [
    { label: "get /v1/interviews/{id}/candidate", path: `${base}/candidate`, init: { method: "GET" } },
    {
      label: "post /v1/interviews/{id}/answers",
      path: `${base}/answers`,
      init: json({ questionId: target.questionId, text: "An answer that must not be stored." })
    },
    {
      label: "post /v1/interviews/{id}/answers/audio",
      path: `${base}/answers/audio?questionId=${encodeURIComponent(target.questionId)}`,
      init: { method: "POST", body: new Uint8Array(2048).fill(7), headers: { "content-type": "audio/webm" } }
    },
    { label: "post /v1/interviews/{id}/finish", path: `${base}/finish`, init: { method: "POST" } },
    {
      label: "post /v1/interviews/{id}/consents",
      path: `${base}/consents`,
      init: json({ kind: "recording", granted: true, noticeVersion: "v1" })
    },
    {
      label: "post /v1/interviews/{id}/demographics",
      path: `${base}/demographics`,
      init: json({ sex: "female", raceEthnicity: "asian" })
    },
    {
      label: "post /v1/interviews/{id}/recordings",
      path: `${base}/recordings?questionId=${encodeURIComponent(target.questionId)}`,
      init: { method: "POST" }
    },
    { label: "get /v1/interviews/{id}/recordings/{uploadId}", path: `${base}/recordings/${upload}`, init: {} },
    {
      label: "put /v1/interviews/{id}/recordings/{uploadId}",
      path: `${base}/recordings/${upload}`,
      init: {
        method: "PUT",
        body: new Uint8Array(1024).fill(7),
        headers: { "content-type": "application/octet-stream", "upload-offset": "0" }
      }
    },
    {
      label: "post /v1/interviews/{id}/recordings/{uploadId}/complete",
      path: `${base}/recordings/${upload}/complete`,
      init: { method: "POST" }
    }
  ]
}

interface OpenApiOperation {
  readonly security?: ReadonlyArray<Record<string, unknown>>
}

/** `method path` of every documented operation whose security scheme is `scheme`. */
const operationsSecuredBy = (spec: { paths: Record<string, Record<string, OpenApiOperation>> }, scheme: string) =>
  Object.entries(spec.paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([, op]) => (op.security ?? []).some((s) => scheme in s))
      .map(([method]) => ({ method, path }))
  )

for (const backend of backends()) {
  describe(`authorisation on ${backend.name}`, () => {
    let engine: Engine
    /** Tenant A's seeded interview. */
    let a: Target
    /** Another interview of tenant A, with its own token. */
    let sibling: Target
    /** Tenant B's seeded interview. */
    let b: Target

    const call = (path: string, init: RequestInit = {}, token?: string) => {
      const headers = new Headers(init.headers)
      if (token !== undefined) headers.set("authorization", `Bearer ${token}`)
      return fetch(`${engine.url}${path}`, { ...init, headers })
    }
    const streamUrl = (interviewId: string, token: string) =>
      `${engine.wsUrl}/v1/interviews/${interviewId}/stream?token=${encodeURIComponent(token)}`

    /** Every table's row count and content digest: equal before and after means the request changed nothing. */
    const database = () =>
      engine.run(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const tables = yield* sql<{ name: string }>`
            SELECT table_name AS name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
          const out: Record<string, string> = {}
          for (const { name } of tables) {
            const rows = yield* sql<{ n: number; digest: string | null }>`
              SELECT count(*)::int AS n, md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest FROM ${sql(name)} t`
            out[name] = `${rows[0]!.n} ${rows[0]!.digest ?? "-"}`
          }
          return out
        })
      )

    /** The target interview as a recruiter would see it: its status, answers and consents. */
    const stateOf = (target: Target) =>
      engine.run(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ status: string; answers: number; consents: number }>`
            SELECT status,
                   (SELECT count(*)::int FROM answers WHERE interview_id = ${target.interviewId}) AS answers,
                   (SELECT count(*)::int FROM consents WHERE interview_id = ${target.interviewId}) AS consents
            FROM interviews WHERE id = ${target.interviewId}`
          return rows[0]
        })
      )

    /** Runs `request` against `target`, expects `status`, and checks that nothing was stored. */
    const refused = async (target: Target, label: string, status: number, request: () => Promise<number>) => {
      const before = await database()
      expect(await request(), label).toBe(status)
      expect(await database(), `${label} changed the database`).toEqual(before)
      expect(await stateOf(target), label).toEqual({ status: "scheduled", answers: 0, consents: 0 })
    }

    const issue = (interviewId: string, tenantId: string) =>
      engine.run(Effect.flatMap(JoinTokens, (t) => t.issue(interviewId, tenantId)))

    /** A new interview of tenant A with its candidate token: each test attacks its own. */
    const interviewOfA = async (name: string): Promise<Target> => {
      const created = await engine.run(
        Effect.flatMap(Interviews, (r) =>
          r.create(a.tenantId, { candidate: { name }, questions: [{ prompt: "Why?" }, { prompt: "How?" }] }, true)
        )
      )
      return {
        tenantId: a.tenantId,
        interviewId: created.id,
        questionId: created.questions[0]!.id,
        token: (await issue(created.id, a.tenantId)).token
      }
    }

    beforeAll(async () => {
      // No sweeps: the engine's own recurring jobs would change the database while a refused request is checked.
      engine = await startEngine({
        ...(await backend.env()),
        TOKEN_SECRET: secret,
        RETENTION_SWEEP_SECONDS: "0",
        ABANDON_SWEEP_SECONDS: "0"
      })
      const target = async (seeded: { tenantId: string; interviewId: string; candidateToken: string }) => {
        const interview = await engine.run(
          Effect.flatMap(Interviews, (r) => r.get(seeded.tenantId, seeded.interviewId))
        )
        return {
          tenantId: seeded.tenantId,
          interviewId: seeded.interviewId,
          questionId: Option.getOrThrow(interview).questions[0]!.id,
          token: seeded.candidateToken
        }
      }
      a = await target(await engine.seedWithoutConsent())
      b = await target(await engine.seedWithoutConsent())
      sibling = await interviewOfA("Sibling")
    })
    afterAll(async () => {
      await engine?.close()
      await backend.cleanup()
    })

    it("covers every candidate route of the OpenAPI document", async () => {
      const spec = (await (await call("/v1/openapi.json")).json()) as any
      const documented = operationsSecuredBy(spec, "candidateToken").map((o) => `${o.method} ${o.path}`)
      expect(documented.sort()).toEqual(
        candidateCalls(a)
          .map((c) => c.label.split("?")[0]!)
          .sort()
      )
    })

    it("refuses a candidate token of another interview on every candidate route and the socket, with 403", async () => {
      const target = await interviewOfA("Other token")
      for (const [whose, token] of [
        ["another interview of the tenant", sibling.token],
        ["another tenant's interview", b.token]
      ] as const) {
        for (const c of candidateCalls(target)) {
          await refused(target, `${c.label} with the token of ${whose}`, 403, async () => {
            const r = await call(c.path, c.init, token)
            expect(((await r.clone().json()) as any).error.code).toBe("forbidden")
            return r.status
          })
        }
        await refused(target, `candidate socket with the token of ${whose}`, 403, () =>
          upgradeStatus(streamUrl(target.interviewId, token))
        )
      }
    })

    it("refuses an expired candidate token on every candidate route and the socket, with 401", async () => {
      const target = await interviewOfA("Expired token")
      // Signed like the engine's own tokens (same secret), with a lifetime of two seconds.
      const shortLived = makeJoinTokens(new TextEncoder().encode(secret), 2)
      const { token, expiresAt } = await Effect.runPromise(shortLived.issue(target.interviewId, target.tenantId))
      const verify = (t: string) => engine.run(Effect.flatMap(JoinTokens, (tokens) => tokens.verify(t)))
      expect(Option.isSome(await verify(token)), "the token is valid until it expires").toBe(true)
      await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 100)
      expect(Option.isNone(await verify(token))).toBe(true)
      for (const c of candidateCalls(target)) {
        await refused(target, `${c.label} with an expired token`, 401, async () => {
          const r = await call(c.path, c.init, token)
          expect(((await r.clone().json()) as any).error.code).toBe("unauthorized")
          return r.status
        })
      }
      await refused(target, "candidate socket with an expired token", 401, () =>
        upgradeStatus(streamUrl(target.interviewId, token))
      )
    })

    it("refuses a candidate token on every recruiter route of the OpenAPI document and the live socket, with 401", async () => {
      // The candidate's own interview, with the candidate's own token: still no recruiter access.
      const target = await interviewOfA("Recruiter routes")
      const spec = (await (await call("/v1/openapi.json")).json()) as any
      const recruiter = operationsSecuredBy(spec, "apiKey")
      // The enumeration finds the recruiter API, not an empty list.
      expect(recruiter.map((o) => `${o.method} ${o.path}`)).toEqual(
        expect.arrayContaining([
          "post /v1/interviews",
          "get /v1/interviews",
          "get /v1/interviews/{id}",
          "delete /v1/interviews/{id}",
          "get /v1/interviews/{id}/report",
          "get /v1/interviews/{id}/consents",
          "post /v1/interviews/{id}/reviews"
        ])
      )
      for (const { method, path } of recruiter) {
        const url = path.replace("{id}", target.interviewId).replace(/\{[^}]+\}/g, "x")
        const withBody = method === "post" || method === "put" || method === "patch"
        const init: RequestInit = {
          method: method.toUpperCase(),
          ...(withBody ? { body: "{}", headers: { "content-type": "application/json" } } : {})
        }
        await refused(target, `${method} ${path} with a candidate token`, 401, async () => {
          const r = await call(url, init, target.token)
          expect(((await r.clone().json()) as any).error.code).toBe("unauthorized")
          return r.status
        })
      }
      const live = `${engine.wsUrl}/v1/interviews/${target.interviewId}/live`
      await refused(target, "live socket with a candidate token as key", 401, () =>
        upgradeStatus(`${live}?key=${encodeURIComponent(target.token)}`)
      )
      await refused(target, "live socket with a candidate token as bearer", 401, () =>
        upgradeStatus(live, { authorization: `Bearer ${target.token}` })
      )
    })

    it("refuses the operator routes without the admin token, with 403", async () => {
      const operator = adminRoutesWith({ seed: () => Effect.die("not called") }).map((r) => ({
        method: r.method.toUpperCase(),
        path: r.path
      }))
      expect(operator.map((o) => o.path)).toEqual(
        expect.arrayContaining(["/internal/seed", "/internal/migrate", "/internal/backup"])
      )
      const apiKey = (await engine.seedWithoutConsent()).apiKey
      for (const { method, path } of operator) {
        for (const [what, token] of [
          ["no token", undefined],
          ["a wrong admin token", "not-the-admin-token"],
          ["a tenant API key", apiKey],
          ["a candidate token", a.token]
        ] as const) {
          await refused(a, `${method} ${path} with ${what}`, 403, async () => {
            const r = await call(path, { method }, token)
            expect(((await r.clone().json()) as any).error.code).toBe("forbidden")
            return r.status
          })
        }
      }
      // The same requests with the admin token get through: the 403s above came from the token check.
      const admin = await engine.run(Effect.service(AdminToken))
      expect((await call("/internal/migrate", { method: "POST" }, admin)).status).toBe(200)
    })
  })
}
