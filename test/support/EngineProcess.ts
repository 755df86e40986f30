/**
 * The engine as a real child process (`node bin/candor.js serve`), for tests that kill it. Its environment is
 * built from scratch: only what the test passes reaches it (never the test runner's own DATABASE_URL/REDIS_URL).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"

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

/** Starts `candor serve` on `port` and resolves once it is up (listening, every layer built, `/readyz` 200). */
export const startEngineProcess = async (
  env: Record<string, string>,
  port: number,
  timeoutMs = 90_000
): Promise<EngineProcess> => {
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
  const started = Date.now()
  let done = false
  gone.then(() => {
    done = true
  })
  while (true) {
    if (done) throw new Error(`candor serve exited before it was ready:\n${output}`)
    if (Date.now() - started > timeoutMs) {
      child.kill("SIGKILL")
      await gone
      throw new Error(`candor serve was not ready within ${timeoutMs} ms:\n${output}`)
    }
    // Once it logs that it listens, everything is built (the candidate socket routes too: `/readyz` alone can
    // answer 200 a moment before they exist).
    if (/Candor listening on /.test(output)) {
      const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.status,
        (e) => String(e)
      )
      if (ready !== 200) throw new Error(`candor serve listens but /readyz answered ${ready}:\n${output}`)
      break
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    pid: child.pid!,
    output: () => output,
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
