/**
 * A new PGlite database runs initdb first, which takes ≈ 4 s on a 2-core machine every time — at the first
 * `npm start`, and in each test and bench engine that opens an embedded database. So the first new database on a
 * machine is dumped right after initdb, before anything is written to it, to a gzipped data directory cached in
 * `node_modules/.cache/candor/` and named after PGlite's version; every later new database (in memory, or on disk
 * in a directory that holds none yet) starts from that dump in ≈ 2 s. The cache is only ever an empty, freshly
 * initialised cluster: migrations still run on every database. A dump that cannot be read or loaded is deleted
 * and the database is made the slow way.
 */
import { PGlite } from "@electric-sql/pglite"
import { existsSync, promises as fs, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { findPackageDir, writeFileAtomic } from "../Files.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** PGlite's version, from its package.json (not in its exports map, so read from the installed package). */
const pgliteVersion = (): string | undefined => {
  const dir = findPackageDir("@electric-sql/pglite", root)
  return dir === undefined
    ? undefined
    : (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version
}

export const templateFile = (cacheDir = path.join(root, "node_modules", ".cache", "candor")): string | undefined => {
  const version = pgliteVersion()
  return version === undefined ? undefined : path.join(cacheDir, `pglite-${version}-initdb.tar.gz`)
}

const isNew = (dataDir: string) => dataDir === ":memory:" || !existsSync(path.join(dataDir, "PG_VERSION"))

const open = async (dataDir: string, loadDataDir?: Blob): Promise<PGlite> => {
  const options = loadDataDir === undefined ? {} : { loadDataDir }
  const db = dataDir === ":memory:" ? new PGlite(options) : new PGlite(dataDir, options)
  await db.waitReady
  return db
}

/** Written aside and renamed into place, so that a process beside this one never reads half of it. */
const save = async (db: PGlite, file: string): Promise<void> =>
  writeFileAtomic(file, new Uint8Array(await (await db.dumpDataDir("gzip")).arrayBuffer()))

/** Opens PGlite at `dataDir` (or in memory), starting a new database from the cached initdb when there is one. */
export const openPglite = async (dataDir: string, file: string | undefined = templateFile()): Promise<PGlite> => {
  if (file === undefined || !isNew(dataDir)) return open(dataDir)
  let template: Buffer | undefined
  try {
    template = await fs.readFile(file)
  } catch {
    template = undefined
  }
  if (template !== undefined) {
    const existed = dataDir === ":memory:" || existsSync(dataDir)
    try {
      return await open(dataDir, new Blob([template]))
    } catch {
      // A damaged dump: forget it, and clear what it left in a directory it created, so initdb starts clean.
      await fs.rm(file, { force: true })
      if (!existed) await fs.rm(dataDir, { recursive: true, force: true })
    }
  }
  const db = await open(dataDir)
  // Nothing else has touched the new cluster yet. A cache that cannot be written only costs the next start time.
  await save(db, file).catch(() => undefined)
  return db
}
