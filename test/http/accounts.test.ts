/**
 * Recruiter accounts end to end over the real API, on every backend: invite, set a password, sign in, use the
 * session like an API key; failed sign-ins slowed then locked (the same for unknown addresses); disabling ends
 * sessions at once; reset links work once; sessions expire; roles travel with the principal; hashes are salted.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { AuditLog } from "../../src/store/AuditLog.ts"
import { Users } from "../../src/store/Users.ts"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

const interviewBody = { candidate: { name: "Ada" }, questions: [{ prompt: "Why?" }] }
const password = "correct horse battery staple"
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Link {
  readonly userId: string
  readonly token: string
  readonly link: string
  readonly expiresAt: string
}

for (const backend of backends()) {
  describe(`recruiter accounts on ${backend.name}`, () => {
    let server: TestServer
    let key: string
    let tenantId: string
    let n = 0

    const call = (path: string, init: RequestInit & { auth?: string | null } = {}) => {
      const headers = new Headers(init.headers)
      const auth = init.auth === undefined ? key : init.auth
      if (auth !== null) headers.set("authorization", `Bearer ${auth}`)
      if (typeof init.body === "string") headers.set("content-type", "application/json")
      return fetch(`${server.url}${path}`, { ...init, headers })
    }
    const post = (path: string, body: unknown, auth?: string | null) =>
      call(path, { method: "POST", body: JSON.stringify(body), ...(auth === undefined ? {} : { auth }) })

    const inviteUser = async (role = "recruiter", email = `person${++n}@example.com`) => {
      const res = await post("/v1/users/invite", { email, role })
      expect(res.status).toBe(201)
      return { email, ...((await res.json()) as Link) }
    }
    const signIn = (email: string, pw = password, extra: Record<string, unknown> = {}) =>
      post("/v1/sessions", { email, password: pw, ...extra }, null)
    /** An invited user with a password set and a session. */
    const member = async (role = "recruiter") => {
      const invited = await inviteUser(role)
      expect((await post("/v1/users/password", { token: invited.token, password }, null)).status).toBe(204)
      const res = await signIn(invited.email)
      expect(res.status).toBe(201)
      const session = (await res.json()) as { token: string; expiresAt: string; role: string; userId: string }
      return { ...invited, session: session.token, res, body: session }
    }
    const passwordHashes = (ids: ReadonlyArray<string>) =>
      server.run(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql`SELECT id, password_hash FROM users WHERE id IN ${sql.in(ids)} ORDER BY id`
          return rows.map((r: any) => r.password_hash as string | null)
        })
      )

    beforeAll(async () => {
      server = await startServer({
        ...(await backend.env()),
        TOKEN_SECRET: "x".repeat(40),
        INFERENCE_WORKERS: "1",
        SIGN_IN_LOCK_SECONDS: "2"
      })
      const seeded = await server.seed()
      key = seeded.apiKey
      tenantId = seeded.tenantId
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("invite, set the password, sign in, and work with the session token as with a key", async () => {
      const invited = await inviteUser("recruiter")
      expect(invited.link).toBe(`${server.url}/invite#token=${encodeURIComponent(invited.token)}`)
      // Invited, no password yet: signing in fails.
      expect((await signIn(invited.email)).status).toBe(401)
      expect((await post("/v1/users/password", { token: invited.token, password: "short" }, null)).status).toBe(400)
      expect((await post("/v1/users/password", { token: invited.token, password }, null)).status).toBe(204)
      const res = await signIn(invited.email.toUpperCase())
      expect(res.status).toBe(201)
      const session = (await res.json()) as { token: string; expiresAt: string; role: string; tenantId: string }
      expect(session.role).toBe("recruiter")
      expect(session.tenantId).toBe(tenantId)
      expect(Date.parse(session.expiresAt) - Date.now()).toBeGreaterThan(11 * 3600 * 1000)
      const setCookie = res.headers.get("set-cookie") ?? ""
      expect(setCookie).toContain(`candor_session=${session.token}`)
      expect(setCookie).toContain("HttpOnly")
      expect(setCookie).toContain("SameSite=Strict")
      expect(setCookie).not.toContain("Secure")

      expect((await call("/v1/interviews", { auth: session.token })).status).toBe(200)
      // The console's cookie authenticates too.
      const byCookie = await fetch(`${server.url}/v1/interviews`, {
        headers: { cookie: `other=1; candor_session=${session.token}` }
      })
      expect(byCookie.status).toBe(200)
      const created = await post("/v1/interviews", interviewBody, session.token)
      expect(created.status).toBe(201)
      const { id } = (await created.json()) as { id: string }
      const audit = await server.run(Effect.flatMap(AuditLog, (a) => a.list(tenantId, id)))
      expect(audit.map((r) => r.actor)).toEqual([`user:${invited.userId}`])
      // The invite itself names the key that asked for it.
      const invitedBy = await server.run(Effect.flatMap(AuditLog, (a) => a.list(tenantId, invited.userId)))
      expect(invitedBy.find((r) => r.action === "user.invite")?.actor).toMatch(/^key:/)

      // An invite link is spent.
      expect((await post("/v1/users/password", { token: invited.token, password }, null)).status).toBe(400)
      // Sign out ends the session.
      expect((await call("/v1/sessions", { method: "DELETE", auth: session.token })).status).toBe(204)
      expect((await call("/v1/interviews", { auth: session.token })).status).toBe(401)
    })

    it("refuses a second account for the same address, a non-admin inviter, and lists users without secrets", async () => {
      const invited = await inviteUser("reader")
      expect((await post("/v1/users/invite", { email: invited.email, role: "admin" })).status).toBe(409)
      const reader = await member("reader")
      expect((await post("/v1/users/invite", { email: "x@example.com", role: "admin" }, reader.session)).status).toBe(
        403
      )
      expect((await call("/v1/users", { auth: reader.session })).status).toBe(403)
      const list = await call("/v1/users")
      expect(list.status).toBe(200)
      const text = await list.text()
      expect(text).not.toContain("scrypt")
      expect(text).not.toContain("password")
      const items = (JSON.parse(text) as { items: Array<{ id: string; status: string }> }).items
      expect(items.find((u) => u.id === invited.userId)?.status).toBe("invited")
      expect(items.find((u) => u.id === reader.userId)?.status).toBe("active")
    })

    it("a wrong password is 401, like an unknown address; five in a row lock the address (429) until the lock ends", async () => {
      const user = await member()
      const wrong = await signIn(user.email, "not the password!")
      expect(wrong.status).toBe(401)
      const unknown = await signIn(`nobody${n}@example.com`, "not the password!")
      expect(unknown.status).toBe(401)
      expect(await unknown.json()).toEqual(await wrong.json())

      // Each failure is answered later than the one before.
      const started = Date.now()
      for (let i = 2; i <= 4; i++) expect((await signIn(user.email, "not the password!")).status).toBe(401)
      expect(Date.now() - started).toBeGreaterThanOrEqual(400 + 800 + 1600 - 100)
      const fifth = await signIn(user.email, "not the password!")
      expect(fifth.status).toBe(429)
      const locked = await signIn(user.email)
      expect(locked.status).toBe(429)
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      expect(((await locked.json()) as { error: { code: string } }).error.code).toBe("too_many_attempts")

      // An unknown address is locked the same way: the answers do not tell which addresses exist.
      const ghost = `ghost${n}@example.com`
      const answers: Array<number> = []
      for (let i = 0; i < 6; i++) answers.push((await signIn(ghost, "not the password!")).status)
      expect(answers).toEqual([401, 401, 401, 401, 429, 429])

      await sleep(2200)
      const after = await signIn(user.email)
      expect(after.status).toBe(201)
      // A success forgets the failures: the next wrong one is 401 again, not a lock.
      expect((await signIn(user.email, "not the password!")).status).toBe(401)
    }, 60_000)

    it("a disabled user's session is refused at once, and they cannot sign in", async () => {
      const user = await member()
      expect((await call("/v1/interviews", { auth: user.session })).status).toBe(200)
      const disabled = await post(`/v1/users/${user.userId}/disable`, {})
      expect(disabled.status).toBe(200)
      expect(((await disabled.json()) as { status: string }).status).toBe("disabled")
      expect((await call("/v1/interviews", { auth: user.session })).status).toBe(401)
      expect((await signIn(user.email)).status).toBe(401)
      // Not only because the sessions were revoked: any session of a disabled user is refused.
      const late = await server.run(Effect.flatMap(Users, (u) => u.createSession(user.userId, 60)))
      expect((await call("/v1/interviews", { auth: late.token })).status).toBe(401)
      expect((await post(`/v1/users/${user.userId}/reset`, {})).status).toBe(404)
      const audit = await server.run(Effect.flatMap(AuditLog, (a) => a.list(tenantId, user.userId)))
      expect(audit.map((r) => r.action)).toContain("user.disable")
    })

    it("a reset link works once, ends the old sessions and replaces the password", async () => {
      const user = await member()
      const res = await post(`/v1/users/${user.userId}/reset`, {})
      expect(res.status).toBe(201)
      const reset = (await res.json()) as Link
      expect(reset.link).toBe(`${server.url}/reset#token=${encodeURIComponent(reset.token)}`)
      const fresh = "a whole new passphrase"
      expect((await post("/v1/users/password", { token: reset.token, password: fresh }, null)).status).toBe(204)
      expect(
        (await post("/v1/users/password", { token: reset.token, password: "yet another one!" }, null)).status
      ).toBe(400)
      expect((await call("/v1/interviews", { auth: user.session })).status).toBe(401)
      expect((await signIn(user.email)).status).toBe(401)
      expect((await signIn(user.email, fresh)).status).toBe(201)
    })

    it("an expired session is refused", async () => {
      const user = await member()
      const short = await server.run(Effect.flatMap(Users, (u) => u.createSession(user.userId, 1)))
      expect((await call("/v1/interviews", { auth: short.token })).status).toBe(200)
      await sleep(1300)
      expect((await call("/v1/interviews", { auth: short.token })).status).toBe(401)
      expect((await call("/v1/interviews", { auth: user.session })).status).toBe(200)
    })

    it("the principal carries the user's role and names the person", async () => {
      const reader = await member("reader")
      const me = await call("/v1/me", { auth: reader.session })
      expect(me.status).toBe(200)
      expect(await me.json()).toEqual({
        tenantId,
        role: "reader",
        actor: `user:${reader.userId}`,
        userId: reader.userId,
        expiresAt: reader.body.expiresAt
      })
      const byKey = (await (await call("/v1/me")).json()) as { role: string; actor: string }
      expect(byKey.role).toBe("admin")
      expect(byKey.actor).toMatch(/^key:/)
      // The role is enforced like a key's: a reader reads interviews but does not create them.
      expect((await call("/v1/interviews", { auth: reader.session })).status).toBe(200)
      const created = await post(
        "/v1/interviews",
        { candidate: { name: "Not Allowed" }, questions: [{ prompt: "Why?" }] },
        reader.session
      )
      expect(created.status).toBe(403)
    })

    it("stores a salted scrypt hash, never the password", async () => {
      const a = await member()
      const b = await member()
      const [ha, hb] = await passwordHashes([a.userId, b.userId].sort())
      for (const h of [ha, hb]) {
        expect(h).toMatch(/^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/)
        expect(h).not.toContain(password)
      }
      expect(ha).not.toBe(hb)
    })

    it("documents every account route in OpenAPI", async () => {
      const spec = (await (await fetch(`${server.url}/v1/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { security?: unknown }>>
      }
      for (const [path, method] of [
        ["/v1/users/invite", "post"],
        ["/v1/users", "get"],
        ["/v1/users/{id}/disable", "post"],
        ["/v1/users/{id}/reset", "post"],
        ["/v1/users/password", "post"],
        ["/v1/sessions", "post"],
        ["/v1/sessions", "delete"],
        ["/v1/me", "get"]
      ] as const) {
        expect(spec.paths[path]?.[method], `${method} ${path}`).toBeDefined()
      }
    })
  })
}
