/**
 * `candor user invite` on embedded defaults: through the running server that owns the database (loopback admin
 * route), and directly once it has stopped; the printed link lets the person set a password and sign in.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { baseEnv, bin, freePort, run, waitFor } from "../support/CliProcess.ts"

interface Invite {
  readonly userId: string
  readonly email: string
  readonly role: string
  readonly token: string
  readonly link: string
}

describe("candor user invite on embedded defaults", () => {
  const dirs: Array<string> = []
  const children: Array<ChildProcess> = []
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL")
    for (const d of dirs) Fs.rmSync(d, { recursive: true, force: true })
  })

  it("refuses a role it does not know, naming the choices", async () => {
    const r = await run(["user", "invite", "--tenant", "t", "--email", "a@example.com", "--role", "owner"], {
      CANDOR_DATA_DIR: Fs.mkdtempSync(Path.join(Os.tmpdir(), "candor-user-"))
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/admin.*recruiter.*reader/s)
  })

  it("invites through the running server, then directly; the link sets a password that signs in", async () => {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "candor-user-"))
    dirs.push(dataDir)
    const port = await freePort()
    const publicUrl = "https://hire.example.com"
    const env = {
      CANDOR_DATA_DIR: dataDir,
      PORT: String(port),
      TOKEN_SECRET: "c".repeat(40),
      PUBLIC_URL: publicUrl,
      // One inference worker: every worker loads the models, and nothing here analyses a frame.
      INFERENCE_WORKERS: "1"
    }
    const server = spawn(process.execPath, [bin, "serve"], { env: { ...baseEnv(), ...env } })
    children.push(server)
    const base = `http://127.0.0.1:${port}`
    expect(await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 90_000)).toBe(true)

    const seeded = await run(["seed", "--json"], env)
    expect(seeded.code).toBe(0)
    const { tenantId } = JSON.parse(seeded.stdout) as { tenantId: string }

    const invited = await run(
      ["user", "invite", "--tenant", tenantId, "--email", "rita@example.com", "--role", "reader", "--json"],
      env
    )
    expect(invited.stderr).toBe("")
    expect(invited.code).toBe(0)
    const link = JSON.parse(invited.stdout) as Invite
    expect(link.role).toBe("reader")
    expect(link.link).toBe(`${publicUrl}/invite#token=${encodeURIComponent(link.token)}`)

    const again = await run(
      ["user", "invite", "--tenant", tenantId, "--email", "rita@example.com", "--role", "admin"],
      env
    )
    expect(again.code).toBe(1)
    expect(again.stderr).toContain("rita@example.com already has")

    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body)
      })
    const password = "a long enough passphrase"
    expect((await post("/v1/users/password", { token: link.token, password })).status).toBe(204)
    const signedIn = await post("/v1/sessions", { email: "rita@example.com", password })
    expect(signedIn.status).toBe(201)
    // PUBLIC_URL is https: the cookie is Secure.
    expect(signedIn.headers.get("set-cookie")).toContain("; Secure")
    const { token } = (await signedIn.json()) as { token: string }
    const me = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${token}` } })
    expect(((await me.json()) as { role: string; actor: string }).actor).toBe(`user:${link.userId}`)
    expect((await fetch(`${base}/v1/interviews`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)

    const exited = new Promise<number | null>((resolve) => server.on("close", resolve))
    server.kill("SIGTERM")
    expect(await exited).toBe(0)

    // No server: the command opens the database itself.
    const direct = await run(
      ["user", "invite", "--tenant", tenantId, "--email", "sam@example.com", "--role", "recruiter"],
      env
    )
    expect(direct.stderr).toBe("")
    expect(direct.code).toBe(0)
    expect(direct.stdout).toMatch(new RegExp(`link:\\s+${publicUrl}/invite#token=cnt_`))
    const unknown = await run(
      ["user", "invite", "--tenant", "no-such-tenant", "--email", "x@example.com", "--role", "reader"],
      env
    )
    expect(unknown.code).toBe(1)
    expect(unknown.stderr.trim()).toBe("candor: no tenant no-such-tenant")
  }, 180_000)
})
