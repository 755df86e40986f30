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
  readonly url: string | null
  readonly adminToken: string
}

export const lockFile = (dataDir: string) => Path.join(dataDir, "server.lock")

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e: any) {
    return e?.code === "EPERM"
  }
}

/** The live lock holder, if any (a lock left by a dead process does not count). */
export const readLock = (dataDir: string): LockInfo | undefined => {
  try {
    const info = JSON.parse(Fs.readFileSync(lockFile(dataDir), "utf8")) as LockInfo
    return typeof info.pid === "number" && info.pid !== process.pid && alive(info.pid) ? info : undefined
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
        const info: LockInfo = { pid: process.pid, url: null, adminToken: randomBytes(24).toString("base64url") }
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
