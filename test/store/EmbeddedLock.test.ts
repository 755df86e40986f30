/**
 * The embedded database's lock file: a lock left by a killed server (its process gone, or its pid now taken by
 * another process) must not block the next start; a live holder does.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import {
  acquire,
  EmbeddedDatabaseBusy,
  type LockInfo,
  lockFile,
  processStarted,
  readLock
} from "../../src/store/EmbeddedLock.ts"

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) Fs.rmSync(d, { recursive: true, force: true })
})
const dataDir = () => {
  const d = Fs.mkdtempSync(Path.join(tmpdir(), "candor-lock-"))
  dirs.push(d)
  return d
}

/** A child process that lives until killed; resolves once it runs. */
const sleeper = async () => {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })
  await new Promise((r) => child.once("spawn", r))
  return child
}

const writeLock = (dir: string, info: Omit<LockInfo, "started"> & { started?: string | undefined }) =>
  Fs.writeFileSync(lockFile(dir), JSON.stringify(info))

const take = (dir: string) =>
  Effect.runPromiseExit(Effect.scoped(Effect.map(acquire(dir), ({ info }) => readLockFile(dir).pid === info.pid)))

const readLockFile = (dir: string) => JSON.parse(Fs.readFileSync(lockFile(dir), "utf8")) as LockInfo

describe("embedded database lock", () => {
  it("takes over a lock left by a process that was killed", async () => {
    const dir = dataDir()
    const child = await sleeper()
    const pid = child.pid!
    writeLock(dir, { pid, started: processStarted(pid), url: "http://127.0.0.1:1", adminToken: "x" })
    expect(readLock(dir)?.pid).toBe(pid)
    child.kill("SIGKILL")
    await new Promise((r) => child.once("exit", r))
    expect(readLock(dir)).toBeUndefined()
    const exit = await take(dir)
    expect(Exit.isSuccess(exit) && exit.value).toBe(true)
    // Released with the scope.
    expect(Fs.existsSync(lockFile(dir))).toBe(false)
  })

  it("refuses while the holder lives, naming it", async () => {
    const dir = dataDir()
    const child = await sleeper()
    try {
      const pid = child.pid!
      writeLock(dir, { pid, started: processStarted(pid), url: "http://127.0.0.1:1", adminToken: "x" })
      const exit = await take(dir)
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
      expect(error?._tag === "Some" && error.value).toBeInstanceOf(EmbeddedDatabaseBusy)
      expect(error?._tag === "Some" && error.value.pid).toBe(pid)
      expect(readLockFile(dir).pid).toBe(pid)
      // A lock written before start times were recorded still counts while its pid lives.
      writeLock(dir, { pid, url: null, adminToken: "x" })
      expect(readLock(dir)?.pid).toBe(pid)
    } finally {
      child.kill("SIGKILL")
    }
  })

  it.skipIf(processStarted(process.pid) === undefined)(
    "takes over a lock whose pid now belongs to another process (pid reused after the holder was killed)",
    async () => {
      const dir = dataDir()
      const child = await sleeper()
      try {
        const pid = child.pid!
        // Same pid, different start time: the holder died and another process got its pid.
        const started = String(Number(processStarted(pid)) - 1)
        writeLock(dir, { pid, started, url: "http://127.0.0.1:1", adminToken: "x" })
        expect(readLock(dir)).toBeUndefined()
        const exit = await take(dir)
        expect(Exit.isSuccess(exit) && exit.value).toBe(true)
      } finally {
        child.kill("SIGKILL")
      }
    }
  )

  it("records this process's start time in its own lock", async () => {
    const dir = dataDir()
    const exit = await Effect.runPromiseExit(
      Effect.scoped(Effect.map(acquire(dir), ({ info }) => [info.started, readLockFile(dir).started]))
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) expect(exit.value[0]).toBe(exit.value[1])
    if (Exit.isSuccess(exit) && processStarted(process.pid) !== undefined)
      expect(exit.value[0]).toBe(processStarted(process.pid))
  })
})
