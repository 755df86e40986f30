/**
 * `candor <verb>` as its own process, for command-line tests: the environment of this process without the
 * real-backend URLs (each case says which database it runs on), and a wait for a condition to hold.
 */
import { spawn } from "node:child_process"

export { freePort } from "./EngineProcess.ts"

export const bin = new URL("../../bin/candor.js", import.meta.url).pathname

export interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** This process's environment without DATABASE_URL and REDIS_URL. */
export const baseEnv = (): Record<string, string | undefined> => {
  const env = { ...process.env }
  delete env.DATABASE_URL
  delete env.REDIS_URL
  return env
}

/** Runs `candor <args>` to its end with `env` over `baseEnv()`. */
export const run = (args: ReadonlyArray<string>, env: Record<string, string | undefined>): Promise<Result> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...baseEnv(), ...env } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/** Polls `check` every 100 ms for up to `ms`; whether it held. */
export const waitFor = async (check: () => Promise<boolean>, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}
