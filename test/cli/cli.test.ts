import { afterAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { baseEnv, bin, freePort, run, waitFor } from "../support/CliProcess.ts"

describe("candor command line on embedded defaults", () => {
  const dirs: Array<string> = []
  const children: Array<ChildProcess> = []
  const tmp = () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "candor-cli-"))
    dirs.push(dir)
    return dir
  }
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL")
    for (const d of dirs) Fs.rmSync(d, { recursive: true, force: true })
  })

  it("refuses a bad setting, naming the variable, before starting", async () => {
    const r = await run(["serve"], { CANDOR_DATA_DIR: tmp(), PORT: "http" })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("invalid configuration")
    expect(r.stderr).toContain("PORT")
  })

  it("rejects an unknown verb with the list of verbs on stderr and exit code 2", async () => {
    const r = await run(["frobnicate"], {})
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain('Unknown subcommand "frobnicate"')
    for (const verb of ["serve, start", "models", "analyze", "bench", "migrate", "seed", "backup"]) {
      expect(r.stderr).toContain(verb)
    }
  })

  it("suggests the nearest verb for a typo", async () => {
    const r = await run(["sed"], {})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Unknown subcommand "sed"[\s\S]*Did you mean this\?\s+seed\n/)
  })

  it("fails on an unknown flag, naming it, before touching any data", async () => {
    const dataDir = tmp()
    const r = await run(["seed", "--frobnicate"], { CANDOR_DATA_DIR: dataDir })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("Unrecognized flag: --frobnicate in command candor seed")
    expect(Fs.readdirSync(dataDir)).toEqual([])
  })

  it("serves, seeds and migrates through the running server, and shuts down cleanly on SIGTERM", async () => {
    const dataDir = tmp()
    const port = await freePort()
    // One inference worker: every worker loads the models, and nothing here analyses a frame.
    const env = { CANDOR_DATA_DIR: dataDir, PORT: String(port), TOKEN_SECRET: "c".repeat(40), INFERENCE_WORKERS: "1" }
    const server = spawn(process.execPath, [bin, "serve"], { env: { ...baseEnv(), ...env } })
    children.push(server)
    let out = ""
    server.stdout.on("data", (d) => (out += d))
    server.stderr.on("data", (d) => (out += d))
    const base = `http://127.0.0.1:${port}`
    expect(await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 60_000)).toBe(true)
    expect(await waitFor(async () => out.includes("API key:"), 10_000)).toBe(true)
    const demoKey = /API key:\s+(\S+)/.exec(out)![1]!
    expect((await fetch(`${base}/v1/interviews`, { headers: { authorization: `Bearer ${demoKey}` } })).status).toBe(200)

    // A second process must not open the server's embedded database: it goes through the server.
    const seeded = await run(["seed", "--json"], env)
    expect(seeded.code).toBe(0)
    const seed = JSON.parse(seeded.stdout) as { apiKey: string; interviewId: string; candidateToken: string }
    const read = await fetch(`${base}/v1/interviews/${seed.interviewId}`, {
      headers: { authorization: `Bearer ${seed.apiKey}` }
    })
    expect(read.status).toBe(200)
    expect(seed.candidateToken.split(".")).toHaveLength(3)

    const migrated = await run(["migrate"], env)
    expect(migrated.code).toBe(0)
    expect(migrated.stdout).toContain("up to date")

    const exited = new Promise<number | null>((resolve) => server.on("close", resolve))
    server.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(Fs.existsSync(Path.join(dataDir, "server.lock"))).toBe(false)

    // With the server gone, the same data (and keys) are there for the next start and for direct commands.
    const direct = await run(["seed", "--json"], env)
    expect(direct.code).toBe(0)
    expect(JSON.parse(direct.stdout).apiKey).toMatch(/^cnd_/)
  }, 120_000)

  it("does not start a second server on a data directory that is in use", async () => {
    const dataDir = tmp()
    const env = { CANDOR_DATA_DIR: dataDir, TOKEN_SECRET: "d".repeat(40), INFERENCE_WORKERS: "1" }
    const first = spawn(process.execPath, [bin, "serve"], {
      env: { ...baseEnv(), ...env, PORT: String(await freePort()) }
    })
    children.push(first)
    expect(await waitFor(async () => Fs.existsSync(Path.join(dataDir, "server.lock")), 30_000)).toBe(true)
    const second = await run(["serve"], { ...env, PORT: String(await freePort()) })
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/embedded database is in use by a running Candor server \(pid \d+/)
    first.kill("SIGTERM")
  })
})
