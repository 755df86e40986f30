/**
 * `candor tenant` and `candor key` as an operator runs them: through the running server on embedded defaults (it
 * owns the database), straight to the database once it is gone, and straight to a real Postgres when
 * `DATABASE_URL` is set. The keys they print are then used over HTTP: each role gets what it may and no more, and
 * a revoked key is refused at once.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { backends } from "../support/Backends.ts"
import { cli } from "../support/Cli.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"
import { baseEnv, bin, freePort, waitFor } from "../support/CliProcess.ts"

interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * `candor <args>` with these variables set, in this process (the verbs load the engine's modules; a process per
 * command would load them each time): exit code and what it printed.
 */
const run = async (args: ReadonlyArray<string>, env: Record<string, string | undefined>): Promise<Result> => {
  const saved = { ...process.env }
  for (const name of ["DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "PGLITE_DIR"]) delete process.env[name]
  Object.assign(process.env, env)
  try {
    return await cli(args)
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
    Object.assign(process.env, saved)
  }
}

/** Runs a verb that must succeed and parses its `--json` output. */
const runJson = async <A>(args: ReadonlyArray<string>, env: Record<string, string | undefined>): Promise<A> => {
  const r = await run([...args, "--json"], env)
  expect(r.stderr, `candor ${args.join(" ")}`).toBe("")
  expect(r.code, `candor ${args.join(" ")}`).toBe(0)
  return JSON.parse(r.stdout) as A
}

interface Created {
  readonly tenantId: string
  readonly apiKey: string
}
interface Key {
  readonly keyId: string
  readonly apiKey: string
}

/**
 * The operator's session: an EU and a US tenant (EU with affect on refused, with the reason), a key of each role
 * for the US tenant, the listings; then what each key may do over HTTP at `base`, and a revocation.
 */
const operatorSession = async (env: Record<string, string | undefined>, base: () => string) => {
  const refused = await run(["tenant", "create", "--name", "Acme EU", "--region", "eu", "--affect", "on"], env)
  expect(refused.code).toBe(2)
  expect(refused.stdout).toBe("")
  expect(refused.stderr).toMatch(/EU tenant.*EU AI Act.*emotion inference/)

  const eu = await runJson<Created>(["tenant", "create", "--name", "Acme EU", "--region", "eu"], env)
  const us = await runJson<Created>(["tenant", "create", "--name", "Acme US", "--region", "us", "--affect", "on"], env)
  expect(eu.apiKey).toMatch(/^cnd_/)
  const tenants = await runJson<Array<{ id: string; region: string; affectPolicy: string; retentionDays: number }>>(
    ["tenant", "list"],
    env
  )
  expect(tenants.find((t) => t.id === eu.tenantId)).toMatchObject({ region: "eu", affectPolicy: "disabled" })
  expect(tenants.find((t) => t.id === us.tenantId)).toMatchObject({
    region: "us",
    affectPolicy: "enabled",
    retentionDays: 180
  })
  expect((await run(["tenant", "list"], env)).stdout).toMatch(/Acme EU\s+eu\s+disabled\s+180d/)

  const keys: Record<string, Key> = {}
  for (const role of ["reader", "recruiter", "admin"]) {
    keys[role] = await runJson<Key>(["key", "create", "--tenant", us.tenantId, "--role", role, "--label", role], env)
  }
  const listed = await run(["key", "list", "--tenant", us.tenantId, "--json"], env)
  expect(listed.code).toBe(0)
  for (const k of [us.apiKey, ...Object.values(keys).map((k) => k.apiKey)]) expect(listed.stdout).not.toContain(k)
  const roles = (JSON.parse(listed.stdout) as Array<{ id: string; role: string }>).map((k) => k.role)
  expect(roles.sort()).toEqual(["admin", "admin", "reader", "recruiter"])

  const call = (key: string, path: string, init: RequestInit = {}) =>
    fetch(`${base()}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${key}`,
        ...(init.body === undefined ? {} : { "content-type": "application/json" })
      }
    })
  const interview = JSON.stringify({ candidate: { name: "Operator Test" }, questions: [{ prompt: "Why us?" }] })
  expect((await call(keys.reader!.apiKey, "/v1/interviews")).status).toBe(200)
  const readerPost = await call(keys.reader!.apiKey, "/v1/interviews", { method: "POST", body: interview })
  expect(readerPost.status).toBe(403)
  expect(((await readerPost.json()) as any).error.message).toContain("role recruiter")
  expect((await call(keys.recruiter!.apiKey, "/v1/interviews", { method: "POST", body: interview })).status).toBe(201)
  const recruiterPatch = await call(keys.recruiter!.apiKey, "/v1/tenant", {
    method: "PATCH",
    body: JSON.stringify({ retentionDays: 30 })
  })
  expect(recruiterPatch.status).toBe(403)
  expect(((await recruiterPatch.json()) as any).error.message).toContain("role admin")
  const adminPatch = await call(keys.admin!.apiKey, "/v1/tenant", {
    method: "PATCH",
    body: JSON.stringify({ retentionDays: 30 })
  })
  expect(adminPatch.status).toBe(200)
  // The EU tenant's own admin key cannot turn affect signals on either.
  const euPatch = await call(eu.apiKey, "/v1/tenant", {
    method: "PATCH",
    body: JSON.stringify({ affectPolicy: "enabled" })
  })
  expect(euPatch.status).toBe(409)

  const revoked = await run(["key", "revoke", keys.reader!.keyId], env)
  expect(revoked.code).toBe(0)
  expect((await call(keys.reader!.apiKey, "/v1/interviews")).status).toBe(401)
  expect((await call(keys.recruiter!.apiKey, "/v1/interviews")).status).toBe(200)
  const again = await run(["key", "revoke", keys.reader!.keyId], env)
  expect(again.code).toBe(1)
  expect(again.stderr).toContain(`no active key ${keys.reader!.keyId}`)
  const unknown = await run(["key", "create", "--tenant", "no-such-tenant", "--role", "reader"], env)
  expect(unknown.code).toBe(1)
  expect(unknown.stderr).toContain("no tenant no-such-tenant")
  return { us, keys }
}

describe("candor tenant and key on embedded defaults", () => {
  const dirs: Array<string> = []
  const children: Array<ChildProcess> = []
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL")
    for (const d of dirs) Fs.rmSync(d, { recursive: true, force: true })
  })

  it("go through the running server, then straight to the database once it has stopped", async () => {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "candor-tenancy-"))
    dirs.push(dataDir)
    const port = await freePort()
    const env = { CANDOR_DATA_DIR: dataDir, PORT: String(port), TOKEN_SECRET: "o".repeat(40), CANDOR_DEMO: "false" }
    const server = spawn(process.execPath, [bin, "serve"], { env: { ...baseEnv(), ...env } })
    children.push(server)
    const base = `http://127.0.0.1:${port}`
    expect(await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 90_000)).toBe(true)

    const { us, keys } = await operatorSession(env, () => base)

    const exited = new Promise<number | null>((resolve) => server.on("close", resolve))
    server.kill("SIGTERM")
    expect(await exited).toBe(0)
    // No server now: the commands open the database themselves and see what was done through the server.
    const direct = await run(["key", "list", "--tenant", us.tenantId, "--json"], env)
    expect(direct.code).toBe(0)
    const reader = (JSON.parse(direct.stdout) as Array<{ id: string; revokedAt: string | null }>).find(
      (k) => k.id === keys.reader!.keyId
    )
    expect(reader?.revokedAt).toEqual(expect.any(String))
    expect((await run(["key", "revoke", keys.recruiter!.keyId], env)).code).toBe(0)
  }, 180_000)
})

for (const backend of backends().filter((b) => b.name !== "embedded")) {
  describe(`candor tenant and key on ${backend.name}`, () => {
    let server: TestServer | undefined
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("work directly against the database while a server serves the same one", async () => {
      const env = await backend.env()
      server = await startServer({ ...env, TOKEN_SECRET: "p".repeat(40), INFERENCE_WORKERS: "1" })
      const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "candor-tenancy-"))
      try {
        await operatorSession({ ...env, CANDOR_DATA_DIR: dataDir }, () => server!.url)
      } finally {
        Fs.rmSync(dataDir, { recursive: true, force: true })
      }
    }, 180_000)
  })
}
