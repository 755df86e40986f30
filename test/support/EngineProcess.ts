/**
 * The engine as a real child process (`node bin/candor.js serve`), for tests that kill it. Its environment is
 * built from scratch: only what the test passes reaches it (never the test runner's own DATABASE_URL/REDIS_URL).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import type { SeedResult } from "../../schemas/Api.ts"
import { readLock } from "../../src/store/EmbeddedLock.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const bin = fileURLToPath(new URL("../../bin/candor.js", import.meta.url))

/** A port that was free a moment ago (loopback). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const baseEnv = (env: Record<string, string>): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  ...(process.env.TMPDIR === undefined ? {} : { TMPDIR: process.env.TMPDIR }),
  LOG_LEVEL: "Info",
  ...env
})

export interface EngineProcess {
  readonly url: string
  readonly wsUrl: string
  readonly pid: number
  /** Everything the process wrote so far (stdout and stderr). */
  readonly output: () => string
  /** Sends SIGKILL and waits until the process is gone. */
  readonly kill: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGTERM, then SIGKILL after `graceMs`; waits until the process is gone. */
  readonly stop: (graceMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      return resolve({ code: child.exitCode, signal: child.signalCode })
    child.once("exit", (code, signal) => resolve({ code, signal }))
  })

/** A running `candor serve`, not waited for: the caller watches it come up (readiness tests). */
export interface SpawnedEngine extends EngineProcess {
  /** Sends `signal` and returns at once. */
  readonly signal: (signal: NodeJS.Signals) => void
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts `candor serve` on `port` and returns at once. */
export const spawnEngine = (env: Record<string, string>, port: number): SpawnedEngine => {
  const child = spawn(process.execPath, [bin, "serve"], {
    cwd: root,
    env: baseEnv({ ...env, HOST: "127.0.0.1", PORT: String(port) }),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (d: Buffer) => {
    output += d.toString()
  })
  child.stderr!.on("data", (d: Buffer) => {
    output += d.toString()
  })
  const gone = exited(child)
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    pid: child.pid!,
    output: () => output,
    signal: (signal) => {
      child.kill(signal)
    },
    exited: gone,
    kill: async () => {
      child.kill("SIGKILL")
      return gone
    },
    stop: async (graceMs = 15_000) => {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
      const result = await gone
      clearTimeout(timer)
      return result
    }
  }
}

/** The status of `GET url`, or 0 when nothing answers. */
export const statusOf = (url: string): Promise<number> =>
  fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    async (r) => {
      await r.arrayBuffer()
      return r.status
    },
    () => 0
  )

/** Starts `candor serve` on `port` and resolves once `/readyz` answers 200 (every route serves). */
export const startEngineProcess = async (
  env: Record<string, string>,
  port: number,
  timeoutMs = 90_000
): Promise<EngineProcess> => {
  const engine = spawnEngine(env, port)
  let done = false
  engine.exited.then(() => {
    done = true
  })
  const started = Date.now()
  while ((await statusOf(`${engine.url}/readyz`)) !== 200) {
    if (done) throw new Error(`candor serve exited before it was ready:\n${engine.output()}`)
    if (Date.now() - started > timeoutMs) {
      await engine.kill()
      throw new Error(`candor serve was not ready within ${timeoutMs} ms:\n${engine.output()}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return engine
}

/** Runs a `candor` command to completion (e.g. `seed --json`) with the same kind of environment. */
export const runCandor = (
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  timeoutMs = 60_000
): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      env: baseEnv(env),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString()
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`candor ${args.join(" ")} did not finish within ${timeoutMs} ms:\n${stderr}`))
    }, timeoutMs)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

/**
 * Seeds a demo tenant, API key, interview and candidate token into the engine that runs on `env`, for tests whose
 * subject is not `candor seed` itself (test/cli/ runs that command). On embedded defaults this is what
 * `candor seed` does there: a POST to the running engine's loopback admin route with the token from its lock, here
 * without starting a second process (which would load the whole engine's modules only to send one request).
 * Elsewhere (`DATABASE_URL` set), `candor seed --json` itself.
 */
export const seedEngine = async (env: Record<string, string>, timeoutMs = 30_000): Promise<SeedResult> => {
  if (env.DATABASE_URL === undefined) {
    const dataDir = env.CANDOR_DATA_DIR
    if (dataDir === undefined) throw new Error("seedEngine: CANDOR_DATA_DIR is not set")
    const deadline = Date.now() + timeoutMs
    // The engine records its URL in the lock just after it starts listening.
    for (let holder = readLock(dataDir); ; holder = readLock(dataDir)) {
      if (holder?.url != null) {
        const response = await fetch(`${holder.url}/internal/seed`, {
          method: "POST",
          headers: { authorization: `Bearer ${holder.adminToken}` }
        })
        if (!response.ok) throw new Error(`seeding the engine: ${response.status} ${await response.text()}`)
        return (await response.json()) as SeedResult
      }
      if (Date.now() > deadline) throw new Error(`no running engine has published its URL in ${dataDir}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const seeded = await runCandor(["seed", "--json"], env)
  if (seeded.code !== 0) throw new Error(`candor seed failed (${seeded.code}): ${seeded.stderr}`)
  return JSON.parse(seeded.stdout.trim().split("\n").pop()!) as SeedResult
}
