/**
 * `candor` as a real child process, for tests that restart or kill the engine: spawned with `bin/candor.js`, its
 * output kept, waited for by polling its HTTP port.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"

export const bin = new URL("../../bin/candor.js", import.meta.url).pathname

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

export interface EngineProcess {
  readonly child: ChildProcess
  readonly url: string
  output: string
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>
}

/** Starts `candor <args>` with `env` over this process's environment minus the backend URLs (unless given). */
export const startProcess = (args: ReadonlyArray<string>, env: Record<string, string>, port = 0): EngineProcess => {
  const base: Record<string, string | undefined> = { ...process.env }
  delete base.DATABASE_URL
  delete base.REDIS_URL
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...base, LOG_LEVEL: "Warn", ...env, ...(port === 0 ? {} : { PORT: String(port) }) }
  })
  const proc: EngineProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    output: "",
    exited: new Promise((resolve) => child.on("close", (code) => resolve(code)))
  }
  child.stdout?.on("data", (d) => (proc.output += d))
  child.stderr?.on("data", (d) => (proc.output += d))
  return proc
}

/** Runs `candor <args>` to its end and returns its stdout. */
export const runProcess = async (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const proc = startProcess(args, env)
  let stdout = ""
  proc.child.stdout?.on("data", (d) => (stdout += d))
  const code = await proc.exited
  if (code !== 0) throw new Error(`candor ${args.join(" ")} exited ${code}: ${proc.output}`)
  return stdout
}

/** The status of `GET url`, or 0 when nothing answers. */
export const statusOf = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(5000) }).then(
    async (r) => {
      await r.arrayBuffer()
      return r.status
    },
    () => 0
  )
