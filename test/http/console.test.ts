/**
 * What the browser pages stand on: the candidate page's view of its interview (read with the join token), the
 * console's session cookie opened with an API key, the CSRF token every cookie-authenticated change needs, and the
 * live view's WebSocket authenticated by that cookie from Candor's own origin only.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import WebSocket from "ws"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

const cookieOf = (response: Response): string => {
  const header = response.headers.get("set-cookie") ?? ""
  return header.split(";")[0]!
}

/** The upgrade's HTTP status, or 101 with the first message when it opened. */
const openLive = (url: string, headers: Record<string, string>) =>
  new Promise<{ status: number; first?: any }>((resolve) => {
    const ws = new WebSocket(url, { headers })
    ws.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode ?? 0 }))
    ws.on("message", (data) => {
      resolve({ status: 101, first: JSON.parse(String(data)) })
      ws.close()
    })
    ws.on("error", () => resolve({ status: 0 }))
  })

for (const backend of backends()) {
  describe(`browser sessions and the candidate view on ${backend.name}`, () => {
    let server: TestServer
    let seed: Awaited<ReturnType<TestServer["seed"]>>
    const api = (path: string, init: RequestInit = {}, key = seed.apiKey) =>
      fetch(`${server.url}${path}`, {
        ...init,
        headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...(init.headers ?? {}) }
      })
    const signIn = async () => {
      const r = await fetch(`${server.url}/v1/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ apiKey: seed.apiKey })
      })
      expect(r.status).toBe(201)
      return { response: r, cookie: cookieOf(r), body: (await r.json()) as any }
    }
    const withCookie = (path: string, cookie: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, {
        ...init,
        headers: { "content-type": "application/json", cookie, ...(init.headers ?? {}) }
      })
    const interviewBody = JSON.stringify({ candidate: { name: "Ada" }, questions: [{ prompt: "Why?" }] })

    beforeAll(async () => {
      server = await startServer({ ...(await backend.env()), TOKEN_SECRET: "p".repeat(40), INFERENCE_WORKERS: "1" })
      seed = await server.seed()
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("shows the candidate the notice, what is analysed, how long it is kept and who to write to", async () => {
      const view = (id: string, token: string) =>
        fetch(`${server.url}/v1/interviews/${id}/candidate`, { headers: { authorization: `Bearer ${token}` } })
      const first = await view(seed.interviewId, seed.candidateToken)
      expect(first.status).toBe(200)
      const body = (await first.json()) as any
      const tenant = (await (await api("/v1/tenant")).json()) as any
      expect(body).toMatchObject({
        interviewId: seed.interviewId,
        status: "scheduled",
        organisation: tenant.name,
        notice: { text: tenant.noticeText, version: tenant.noticeVersion },
        retentionDays: tenant.retentionDays,
        contact: null,
        signals: { face: true, emotion: true, blinks: true },
        affectDeclinable: true,
        audioAnswers: false,
        streamUrl: `${server.url.replace("http", "ws")}/v1/interviews/${seed.interviewId}/stream`
      })
      expect(body.questionCount).toBeGreaterThan(0)

      // The tenant names a contact and turns affect signals off: a new interview's page says so.
      const patched = await api("/v1/tenant", {
        method: "PATCH",
        body: JSON.stringify({ privacyContact: "privacy@example.com", affectPolicy: "disabled" })
      })
      expect(patched.status).toBe(200)
      expect(((await patched.json()) as any).privacyContact).toBe("privacy@example.com")
      const created = (await (await api("/v1/interviews", { method: "POST", body: interviewBody })).json()) as any
      const off = (await (await view(created.id, created.candidateToken)).json()) as any
      expect(off).toMatchObject({
        contact: "privacy@example.com",
        signals: { face: true, emotion: false, blinks: false },
        affectDeclinable: false
      })
      await api("/v1/tenant", { method: "PATCH", body: JSON.stringify({ affectPolicy: "enabled" }) })

      // A valid link to an interview that was erased says so (the page tells the candidate), not only "not found".
      expect((await api(`/v1/interviews/${created.id}`, { method: "DELETE" })).status).toBe(204)
      const gone = await view(created.id, created.candidateToken)
      expect(gone.status).toBe(404)
      expect(((await gone.json()) as any).error.code).toBe("erased")
    })

    it("serves the pages under a policy that allows nothing but Candor's own origin, and only the page files", async () => {
      for (const [path, file] of [
        ["/", "console"],
        [`/join/${seed.interviewId}`, "candidate"]
      ] as const) {
        const page = await fetch(`${server.url}${path}`)
        expect(page.status).toBe(200)
        expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
        const policy = page.headers.get("content-security-policy") ?? ""
        expect(policy).toContain("default-src 'none'")
        expect(policy).toContain("script-src 'self'")
        expect(policy).not.toContain("unsafe-inline")
        expect(policy).toContain("frame-ancestors 'none'")
        expect(await page.text()).toContain(`/assets/${file}.js`)
      }
      const script = await fetch(`${server.url}/assets/candidate.js`)
      expect(script.status).toBe(200)
      expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
      for (const path of ["/assets/..%2Fpackage.json", "/assets/nothing.js", "/assets/candidate.html", "/assets/x.exe"])
        expect((await fetch(`${server.url}${path}`)).status, path).toBe(404)
    })

    it("signs a browser in with an API key: an HttpOnly, SameSite=Strict cookie acting as the key, never the key", async () => {
      const { response, cookie, body } = await signIn()
      const setCookie = response.headers.get("set-cookie") ?? ""
      expect(setCookie).toMatch(/^candor_session=cnk_[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/)
      expect(setCookie).not.toContain(seed.apiKey)
      expect(body).not.toHaveProperty("token")
      expect(body).toMatchObject({ tenantId: seed.tenantId, role: "admin" })
      expect(body.csrfToken).toMatch(/^[\w-]{43}$/)
      const me = (await (await withCookie("/v1/me", cookie)).json()) as any
      expect(me).toMatchObject({ tenantId: seed.tenantId, keyId: body.keyId, csrfToken: body.csrfToken })
      expect((await withCookie("/v1/interviews", cookie)).status).toBe(200)

      const wrong = await fetch(`${server.url}/v1/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ apiKey: "cnd_not-a-key" })
      })
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get("set-cookie")).toBeNull()
    })

    it("refuses a change made with the cookie but without the session's CSRF token, and stores nothing", async () => {
      const { cookie, body } = await signIn()
      const before = ((await (await api("/v1/interviews?limit=100")).json()) as any).items.length
      for (const csrf of [undefined, "forged", `${body.csrfToken}x`]) {
        const r = await withCookie("/v1/interviews", cookie, {
          method: "POST",
          body: interviewBody,
          headers: csrf === undefined ? {} : { "x-csrf-token": csrf }
        })
        expect(r.status, `csrf header ${csrf}`).toBe(403)
        expect(((await r.json()) as any).error.code).toBe("csrf")
      }
      expect(((await (await api("/v1/interviews?limit=100")).json()) as any).items.length).toBe(before)
      const made = await withCookie("/v1/interviews", cookie, {
        method: "POST",
        body: interviewBody,
        headers: { "x-csrf-token": body.csrfToken }
      })
      expect(made.status).toBe(201)
      // The header alone is no credential: the bearer key path needs no CSRF token, a cookie path always does.
      expect((await api("/v1/interviews", { method: "POST", body: interviewBody })).status).toBe(201)
    })

    it("ends the cookie session on sign-out, and when its key is revoked", async () => {
      const first = await signIn()
      const out = await withCookie("/v1/sessions", first.cookie, {
        method: "DELETE",
        headers: { "x-csrf-token": first.body.csrfToken }
      })
      expect(out.status).toBe(204)
      expect(out.headers.get("set-cookie")).toMatch(/^candor_session=; Path=\/; Max-Age=0/)
      expect((await withCookie("/v1/me", first.cookie)).status).toBe(401)

      const key = (await (
        await api("/v1/keys", { method: "POST", body: JSON.stringify({ role: "reader" }) })
      ).json()) as any
      const r = await fetch(`${server.url}/v1/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ apiKey: key.apiKey })
      })
      const cookie = cookieOf(r)
      expect(((await r.json()) as any).role).toBe("reader")
      expect((await withCookie("/v1/me", cookie)).status).toBe(200)
      // A reader may sign out too.
      const again = await fetch(`${server.url}/v1/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ apiKey: key.apiKey })
      })
      const readerOut = await withCookie("/v1/sessions", cookieOf(again), {
        method: "DELETE",
        headers: { "x-csrf-token": ((await again.json()) as any).csrfToken }
      })
      expect(readerOut.status).toBe(204)
      expect((await api(`/v1/keys/${key.keyId}`, { method: "DELETE" })).status).toBe(204)
      expect((await withCookie("/v1/me", cookie)).status).toBe(401)
    })

    it("opens the live view with the cookie from Candor's own origin only", async () => {
      const { cookie } = await signIn()
      const url = `${server.url.replace("http", "ws")}/v1/interviews/${seed.interviewId}/live`
      const host = new URL(server.url).host
      const own = await openLive(url, { cookie, origin: server.url })
      expect(own.status).toBe(101)
      expect(own.first).toMatchObject({ _tag: "live", interviewId: seed.interviewId })
      expect((await openLive(url, { cookie, origin: "https://evil.example" })).status).toBe(403)
      expect((await openLive(url, { cookie })).status).toBe(403)
      expect((await openLive(url, { origin: server.url })).status).toBe(401)
      expect(host).toContain("127.0.0.1")
    })
  })
}
