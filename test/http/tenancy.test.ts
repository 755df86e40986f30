/**
 * Key roles and tenant administration over HTTP. Each case fails if the check it covers is removed: a reader or a
 * recruiter let through gets a 2xx (and the database changes), a revoked key still answers 200, an EU tenant's
 * affect switch reaches the table's own check (503 instead of 409), a retention of 0 reaches it too.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { AuditLog } from "../../src/store/AuditLog.ts"
import { createTenant } from "../../src/TenantAdmin.ts"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

const interviewBody = {
  candidate: { name: "Role Test" },
  questions: [{ prompt: "Tell us about a hard bug." }]
}

interface OpenApiOperation {
  readonly security?: ReadonlyArray<Record<string, unknown>>
  readonly "x-candor-role"?: string
}

for (const backend of backends()) {
  describe(`roles and tenant administration on ${backend.name}`, () => {
    let server: TestServer
    let tenantId: string
    let admin: string
    let reader: { keyId: string; apiKey: string }
    let recruiter: { keyId: string; apiKey: string }
    let interviewId: string

    const call = (path: string, key: string | undefined, init: RequestInit = {}) => {
      const headers = new Headers(init.headers)
      if (key !== undefined) headers.set("authorization", `Bearer ${key}`)
      if (typeof init.body === "string") headers.set("content-type", "application/json")
      return fetch(`${server.url}${path}`, { ...init, headers })
    }
    const post = (path: string, key: string, body: unknown) =>
      call(path, key, { method: "POST", body: JSON.stringify(body) })
    const patch = (key: string, body: unknown) =>
      call("/v1/tenant", key, { method: "PATCH", body: JSON.stringify(body) })
    const createKey = async (role: string, label = role) => {
      const r = await post("/v1/keys", admin, { role, label })
      expect(r.status).toBe(201)
      return (await r.json()) as { keyId: string; apiKey: string; role: string }
    }
    const count = (table: string) =>
      server.run(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(table)}`.pipe(Effect.map((r) => r[0]!.n))
        )
      )
    const tenantRow = (id: string) =>
      server.run(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`SELECT affect_policy, retention_days, name FROM tenants WHERE id = ${id}`
        )
      )
    const expectForbidden = async (r: Response, role: string) => {
      expect(r.status).toBe(403)
      const body = (await r.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe("forbidden")
      expect(body.error.message).toContain(`role ${role}`)
    }

    beforeAll(async () => {
      server = await startServer({ ...(await backend.env()), TOKEN_SECRET: "t".repeat(40), INFERENCE_WORKERS: "1" })
      const seeded = await server.seed()
      tenantId = seeded.tenantId
      admin = seeded.apiKey
      interviewId = seeded.interviewId
      reader = await createKey("reader")
      recruiter = await createKey("recruiter")
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("the seed's key is an admin: it reads the tenant and lists its keys, no secrets shown", async () => {
      const tenant = await call("/v1/tenant", admin)
      expect(tenant.status).toBe(200)
      expect(await tenant.json()).toMatchObject({
        id: tenantId,
        region: "other",
        affectPolicy: "enabled",
        retentionDays: 180,
        noticeVersion: "1"
      })
      const keys = await call("/v1/keys", admin)
      expect(keys.status).toBe(200)
      const text = await keys.text()
      expect(text).not.toContain(reader.apiKey)
      expect(text).not.toContain(recruiter.apiKey)
      const items = (JSON.parse(text) as { items: Array<{ id: string; role: string; prefix: string }> }).items
      expect(items.map((k) => k.role).sort()).toEqual(["admin", "reader", "recruiter"])
      expect(items.find((k) => k.id === reader.keyId)!.prefix).toBe(reader.apiKey.slice(0, 10))
      for (const k of items) expect(Object.keys(k)).not.toContain("keyHash")
    })

    it("a reader reads interviews and reports (200) but cannot create an interview (403, nothing stored)", async () => {
      expect((await call("/v1/interviews", reader.apiKey)).status).toBe(200)
      expect((await call(`/v1/interviews/${interviewId}`, reader.apiKey)).status).toBe(200)
      expect((await call(`/v1/interviews/${interviewId}/reviews`, reader.apiKey)).status).toBe(200)
      const before = await count("interviews")
      await expectForbidden(await post("/v1/interviews", reader.apiKey, interviewBody), "recruiter")
      await expectForbidden(
        await post(`/v1/interviews/${interviewId}/reviews`, reader.apiKey, { reviewer: "R", decision: "advance" }),
        "recruiter"
      )
      await expectForbidden(
        await call(`/v1/interviews/${interviewId}`, reader.apiKey, { method: "DELETE" }),
        "recruiter"
      )
      expect(await count("interviews")).toBe(before)
      // The same request with a recruiter's key gets through: the 403 came from the role.
      expect((await post("/v1/interviews", recruiter.apiKey, interviewBody)).status).toBe(201)
    })

    it("a recruiter cannot run the tenant: 403 on PATCH /v1/tenant and the key routes, nothing changed", async () => {
      const before = await tenantRow(tenantId)
      const keysBefore = await count("api_keys")
      await expectForbidden(await patch(recruiter.apiKey, { retentionDays: 7 }), "admin")
      await expectForbidden(await call("/v1/tenant", recruiter.apiKey), "admin")
      await expectForbidden(await call("/v1/keys", recruiter.apiKey), "admin")
      await expectForbidden(await post("/v1/keys", recruiter.apiKey, { role: "admin" }), "admin")
      await expectForbidden(await call(`/v1/keys/${reader.keyId}`, recruiter.apiKey, { method: "DELETE" }), "admin")
      await expectForbidden(await patch(reader.apiKey, { retentionDays: 7 }), "admin")
      expect(await tenantRow(tenantId)).toEqual(before)
      expect(await count("api_keys")).toBe(keysBefore)
    })

    it("an admin changes the settings; every change is an audit row naming the key", async () => {
      const adminKeyId = ((await (await call("/v1/keys", admin)).json()) as any).items.find(
        (k: any) => k.label === "demo"
      ).id
      const r = await patch(admin, {
        name: "Renamed",
        retentionDays: 30,
        noticeText: "We record this interview to assess your answers.",
        noticeVersion: "2",
        scoreWeights: { answers: 1 },
        affectPolicy: "disabled"
      })
      expect(r.status).toBe(200)
      expect(await r.json()).toMatchObject({
        name: "Renamed",
        retentionDays: 30,
        noticeVersion: "2",
        scoreWeights: { answers: 1 },
        affectPolicy: "disabled"
      })
      expect((await (await call("/v1/tenant", admin)).json()) as any).toMatchObject({ retentionDays: 30 })
      const audit = await server.run(Effect.flatMap(AuditLog, (a) => a.list(tenantId, tenantId)))
      const update = audit.find((e) => e.action === "tenant.update")!
      expect(update.actor).toBe(`key:${adminKeyId}`)
      expect(update.detail).toMatchObject({
        retentionDays: { from: 180, to: 30 },
        noticeVersion: { from: "1", to: "2" }
      })
      const keys = await server.run(Effect.flatMap(AuditLog, (a) => a.list(tenantId, reader.keyId)))
      expect(keys.map((e) => e.action)).toContain("key.create")
    })

    it("refuses a retention of 0 days (400) and leaves the tenant as it was", async () => {
      const before = await tenantRow(tenantId)
      for (const retentionDays of [0, -3, 1.5]) {
        const r = await patch(admin, { retentionDays })
        expect(r.status).toBe(400)
        expect(((await r.json()) as any).error.message).toContain("retentionDays")
      }
      expect(await tenantRow(tenantId)).toEqual(before)
      expect((await patch(admin, { retentionDays: 1 })).status).toBe(200)
    })

    it("refuses affect signals for an EU tenant with 409 and the reason; a US tenant may switch them", async () => {
      const eu = await server.run(createTenant({ name: "EU GmbH", region: "eu" }))
      expect(eu.tenant.affectPolicy).toBe("disabled")
      const r = await patch(eu.apiKey, { affectPolicy: "enabled" })
      expect(r.status).toBe(409)
      expect(((await r.json()) as any).error.message).toMatch(/EU AI Act.*emotion/)
      expect((await tenantRow(eu.tenant.id))[0]).toMatchObject({ affect_policy: "disabled" })

      const us = await server.run(createTenant({ name: "US Inc", region: "us", affect: false }))
      expect(us.tenant.affectPolicy).toBe("disabled")
      const on = await patch(us.apiKey, { affectPolicy: "enabled" })
      expect(on.status).toBe(200)
      expect(((await on.json()) as any).affectPolicy).toBe("enabled")
    })

    it("a revoked key is refused (401) from its next request; another tenant's key cannot be revoked (404)", async () => {
      const key = await createKey("reader", "short-lived")
      expect((await call("/v1/interviews", key.apiKey)).status).toBe(200)
      expect((await call(`/v1/keys/${key.keyId}`, admin, { method: "DELETE" })).status).toBe(204)
      const after = await call("/v1/interviews", key.apiKey)
      expect(after.status).toBe(401)
      expect(
        ((await call("/v1/keys", admin).then((r) => r.json())) as any).items.find((k: any) => k.id === key.keyId)
      ).toMatchObject({ revokedAt: expect.any(String) })
      expect((await call(`/v1/keys/${key.keyId}`, admin, { method: "DELETE" })).status).toBe(404)
      const audit = await server.run(Effect.flatMap(AuditLog, (a) => a.list(tenantId, key.keyId)))
      expect(audit.map((e) => e.action)).toContain("key.revoke")

      const other = await server.seed()
      const otherKeys = ((await (await call("/v1/keys", other.apiKey)).json()) as any).items as Array<{ id: string }>
      const r = await call(`/v1/keys/${otherKeys[0]!.id}`, admin, { method: "DELETE" })
      expect(r.status).toBe(404)
      expect((await call("/v1/interviews", other.apiKey)).status).toBe(200)
      expect((await call("/v1/keys/not-an-id", admin, { method: "DELETE" })).status).toBe(404)
    })

    it("documents each operation's role in OpenAPI and refuses every key below it with 403", async () => {
      const spec = (await (await call("/v1/openapi.json", undefined)).json()) as {
        paths: Record<string, Record<string, OpenApiOperation>>
      }
      const operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
        Object.entries(ops)
          .filter(([, op]) => (op.security ?? []).some((s) => "apiKey" in s))
          .map(([method, op]) => ({ method, path, role: op["x-candor-role"] }))
      )
      const roleOf = (method: string, path: string) =>
        operations.find((o) => o.method === method && o.path === path)?.role
      expect(roleOf("get", "/v1/interviews")).toBe("reader")
      expect(roleOf("post", "/v1/interviews")).toBe("recruiter")
      expect(roleOf("delete", "/v1/interviews/{id}")).toBe("recruiter")
      expect(roleOf("post", "/v1/interviews/{id}/reviews")).toBe("recruiter")
      expect(roleOf("patch", "/v1/tenant")).toBe("admin")
      expect(roleOf("post", "/v1/keys")).toBe("admin")
      expect(roleOf("delete", "/v1/keys/{id}")).toBe("admin")
      const before = await count("interviews")
      for (const { method, path, role } of operations) {
        expect(["reader", "recruiter", "admin"], `${method} ${path}`).toContain(role)
        const below = role === "admin" ? [reader, recruiter] : role === "recruiter" ? [reader] : []
        const url = path.replace("{id}", interviewId).replace(/\{[^}]+\}/g, "x")
        const withBody = method === "post" || method === "put" || method === "patch"
        for (const key of below) {
          const r = await call(url, key.apiKey, { method: method.toUpperCase(), ...(withBody ? { body: "{}" } : {}) })
          expect(r.status, `${method} ${path} with a key below ${role}`).toBe(403)
        }
      }
      expect(await count("interviews")).toBe(before)
    })
  })
}
