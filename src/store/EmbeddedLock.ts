/**
 * PGlite is a database inside one process: two processes opening the same directory would corrupt it. The
 * server holds a lock file in the data directory naming its pid, URL and an admin token, so `candor seed` and
 * `candor migrate` can go through the running server instead of opening the database themselves.
 */
import { Effect, Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

export class EmbeddedDatabaseBusy extends Schema.TaggedError<EmbeddedDatabaseBusy>()("EmbeddedDatabaseBusy", {
  pid: Schema.Number,
  url: Schema.NullOr(Schema.String),
  lockFile: Schema.String
}) {
  override get message() {
    return `the embedded database is in use by a running Candor server (pid ${this.pid}${
      this.url === null ? "" : `, ${this.url}`
    }); stop it or use its API (lock: ${this.lockFile})`
  }
}

export interface LockInfo {
  readonly pid: number
  /**
   * When the holder started, as the kernel counts it (Linux), so that a lock left by a killed server is not taken
   * for a live one when its pid now belongs to another process (pids are few and reused fast in containers).
   */
  readonly started?: string
  readonly url: string | null
  readonly adminToken: string
}

export const lockFile = (dataDir: string) => Path.join(dataDir, "server.lock")

/** A process's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22); undefined where unknown. */
export const processStarted = (pid: number): string | undefined => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    const started = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
    return started !== undefined && /^\d+$/.test(started) ? started : undefined
  } catch {
    return undefined
  }
}

const alive = (info: LockInfo) => {
  try {
    process.kill(info.pid, 0)
  } catch (e: any) {
    if (e?.code !== "EPERM") return false
  }
  // The pid is in use; by the holder only if it started when the holder did (where both are known).
  if (info.started === undefined) return true
  const started = processStarted(info.pid)
  return started === undefined || started === info.started
}

/** The live lock holder, if any (a lock left by a dead process does not count). */
export const readLock = (dataDir: string): LockInfo | undefined => {
  try {
    const info = JSON.parse(Fs.readFileSync(lockFile(dataDir), "utf8")) as LockInfo
    return typeof info.pid === "number" && info.pid !== process.pid && alive(info) ? info : undefined
  } catch {
    return undefined
  }
}

const write = (file: string, info: LockInfo, flag: "wx" | "w") =>
  Fs.writeFileSync(file, JSON.stringify(info), { mode: 0o600, flag })

/** Takes the lock for this process until the scope closes; `publish` records the server URL once listening. */
export const acquire = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        Fs.mkdirSync(dataDir, { recursive: true })
        const file = lockFile(dataDir)
        const started = processStarted(process.pid)
        const info: LockInfo = {
          pid: process.pid,
          ...(started === undefined ? {} : { started }),
          url: null,
          adminToken: randomBytes(24).toString("base64url")
        }
        for (let attempt = 0; attempt < 2; attempt++) {
          try {
            write(file, info, "wx")
            return { info, publish: (url: string) => write(file, { ...info, url }, "w") }
          } catch (e: any) {
            if (e?.code !== "EEXIST") throw e
            const holder = readLock(dataDir)
            if (holder !== undefined) {
              throw new EmbeddedDatabaseBusy({ pid: holder.pid, url: holder.url, lockFile: file })
            }
            // Stale lock from a process that died without cleaning up.
            Fs.rmSync(file, { force: true })
          }
        }
        throw new Error(`could not take ${file}`)
      },
      catch: (e) =>
        e instanceof EmbeddedDatabaseBusy ? e : new EmbeddedDatabaseBusy({ pid: -1, url: null, lockFile: String(e) })
    }),
    ({ info }) =>
      Effect.sync(() => {
        const file = lockFile(dataDir)
        try {
          const current = JSON.parse(Fs.readFileSync(file, "utf8")) as LockInfo
          if (current.pid === info.pid) Fs.rmSync(file, { force: true })
        } catch {
          // already gone
        }
      })
  )
