import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { runMigrations } from "../../src/store/Migrations.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { hashApiKey, Tenants } from "../../src/store/Tenants.ts"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

const question = { prompt: "Explain a hash map." }

for (const backend of backends()) {
  describe(`storage on ${backend.name}`, () => {
    let server: TestServer
    beforeAll(async () => {
      server = await startServer({ ...(await backend.env()), TOKEN_SECRET: "s".repeat(40) })
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("creates every table of the schema, and running migrations again applies nothing", async () => {
      const tables = await server.run(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
        )
      )
      expect(tables.map((t) => t.table_name)).toEqual(
        expect.arrayContaining([
          "tenants",
          "api_keys",
          "interviews",
          "questions",
          "answers",
          "answer_scores",
          "score_windows",
          "score_events",
          "reports",
          "reviews",
          "consents",
          "media_objects",
          "audit_log"
        ])
      )
      expect(await server.run(runMigrations)).toEqual([])
    })

    it("keeps affect signals off for EU tenants, whatever is asked, also at the database", async () => {
      const tenant = await server.run(
        Effect.flatMap(Tenants, (t) => t.create({ name: "EU Co", region: "eu", affectPolicy: "enabled" }))
      )
      expect(tenant.affectPolicy).toBe("disabled")
      const sneaky = await server.run(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`UPDATE tenants SET affect_policy = 'enabled' WHERE id = ${tenant.id}`.pipe(Effect.exit)
        )
      )
      expect(sneaky._tag).toBe("Failure")
      const stored = await server.run(Effect.flatMap(Tenants, (t) => t.get(tenant.id)))
      expect(Option.getOrThrow(stored).affectPolicy).toBe("disabled")
      const interview = await server.run(
        Effect.flatMap(Interviews, (r) =>
          r.create(tenant.id, { candidate: { name: "Eve" }, questions: [question] }, tenant.affectPolicy === "enabled")
        )
      )
      expect(interview.affectSignals).toBe(false)
    })

    it("stores API keys only as hashes, and revoked keys stop working", async () => {
      const { tenant, key } = await server.run(
        Effect.gen(function* () {
          const tenants = yield* Tenants
          const tenant = yield* tenants.create({ name: "Keys Inc" })
          return { tenant, key: yield* tenants.issueKey(tenant.id, "ci") }
        })
      )
      const stored = await server.run(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ key_hash: string }>`SELECT key_hash FROM api_keys WHERE tenant_id = ${tenant.id}`
        )
      )
      expect(stored).toEqual([{ key_hash: hashApiKey(key.key) }])
      expect(JSON.stringify(stored)).not.toContain(key.key)
      const auth = (k: string) => server.run(Effect.flatMap(Tenants, (t) => t.authenticate(k)))
      expect(Option.getOrThrow(await auth(key.key))).toEqual({
        tenantId: tenant.id,
        keyId: key.id,
        role: "admin",
        actor: `key:${key.id}`
      })
      expect(Option.isNone(await auth(`${key.key}x`))).toBe(true)
      expect(await server.run(Effect.flatMap(Tenants, (t) => t.revokeKey(tenant.id, key.id)))).toBe(true)
      expect(Option.isNone(await auth(key.key))).toBe(true)
    })

    it("erasing an interview removes its questions and answers but keeps the audit trail", async () => {
      const result = await server.run(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const tenants = yield* Tenants
          const repo = yield* Interviews
          const tenant = yield* tenants.create({ name: "Erase Ltd" })
          const interview = yield* repo.create(tenant.id, { candidate: { name: "Al" }, questions: [question] }, true)
          yield* sql`INSERT INTO answers (id, interview_id, question_id, source, body, idempotency_key)
                     VALUES (${crypto.randomUUID()}, ${interview.id}, ${interview.questions[0]!.id}, 'text', 'an answer', ${crypto.randomUUID()})`
          yield* sql`INSERT INTO audit_log (id, tenant_id, actor, action, subject) VALUES (${crypto.randomUUID()}, ${tenant.id}, 'system', 'x', ${interview.id})`
          const otherTenant = yield* repo.erase(crypto.randomUUID(), interview.id)
          const erased = yield* repo.erase(tenant.id, interview.id)
          const left = yield* sql<{ n: number }>`
            SELECT (SELECT count(*)::int FROM questions WHERE interview_id = ${interview.id})
                 + (SELECT count(*)::int FROM answers WHERE interview_id = ${interview.id}) AS n`
          const audit = yield* sql<{
            n: number
          }>`SELECT count(*)::int AS n FROM audit_log WHERE subject = ${interview.id}`
          return { otherTenant, erased, left: left[0]!.n, audit: audit[0]!.n }
        })
      )
      expect(result).toEqual({ otherTenant: false, erased: true, left: 0, audit: 1 })
    })
  })
}
