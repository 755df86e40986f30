/**
 * A fresh Postgres database for one bench engine, dropped afterwards: the bench never writes into a database
 * someone uses, and runs never see each other's rows.
 */
import * as Pg from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { randomBytes } from "node:crypto"
import { readFile } from "node:fs/promises"

const admin = <A extends object = object>(serverUrl: string, statement: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* sql.unsafe<A>(statement)
    }).pipe(Effect.provide(Pg.layer({ url: Redacted.make(serverUrl), maxConnections: 1 })))
  )

export interface ThrowawayDatabase {
  /** Connection string of the new database. */
  readonly url: string
  readonly drop: () => Promise<void>
  /**
   * CPU seconds (user + system) used so far by the server's backends connected to this database, by pid; undefined
   * when they cannot be read (a server on another machine: only a local server's processes are in /proc).
   */
  readonly backendCpu: () => Promise<ReadonlyMap<number, number> | undefined>
}

/** Clock ticks per second of /proc/<pid>/stat on Linux. */
const TICKS = 100

const processCpuSeconds = async (pid: number): Promise<number | undefined> => {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name (which may hold spaces) in parentheses: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / TICKS
  } catch {
    return undefined
  }
}

/** CPU seconds between two readings of `backendCpu`, counting a backend that started in between from 0. */
export const backendCpuBetween = (
  a: ReadonlyMap<number, number> | undefined,
  b: ReadonlyMap<number, number> | undefined
): number | undefined => {
  if (a === undefined || b === undefined) return undefined
  let total = 0
  for (const [pid, seconds] of b) total += seconds - (a.get(pid) ?? 0)
  return total
}

/** Creates `candor_bench_<random>` on the server of `serverUrl` (which must allow CREATE DATABASE). */
export const createThrowawayDatabase = async (serverUrl: string): Promise<ThrowawayDatabase> => {
  const name = `candor_bench_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`
  await admin(serverUrl, `CREATE DATABASE ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const local = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)
  return {
    url: url.toString(),
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined),
    backendCpu: async () => {
      if (!local) return undefined
      const rows = await admin<{ pid: number }>(
        serverUrl,
        `SELECT pid FROM pg_stat_activity WHERE datname = '${name}'`
      ).catch(() => [])
      const out = new Map<number, number>()
      for (const { pid } of rows) {
        const seconds = await processCpuSeconds(Number(pid))
        if (seconds !== undefined) out.set(Number(pid), seconds)
      }
      return rows.length > 0 && out.size === 0 ? undefined : out
    }
  }
}
