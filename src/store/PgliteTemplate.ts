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
import { randomBytes } from "node:crypto"
import { existsSync, promises as fs, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** PGlite's version, from its package.json (not in its exports map, so read from the installed package). */
const pgliteVersion = (): string | undefined => {
  for (let dir = root; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "node_modules", "@electric-sql", "pglite", "package.json")
    if (existsSync(file)) return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version
    if (path.dirname(dir) === dir) return undefined
  }
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

/** Writes the dump aside and renames it into place, so that a process beside this one never reads half of it. */
const save = async (db: PGlite, file: string): Promise<void> => {
  const dump = await db.dumpDataDir("gzip")
  await fs.mkdir(path.dirname(file), { recursive: true })
  const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`
  await fs.writeFile(draft, Buffer.from(await dump.arrayBuffer()))
  await fs.rename(draft, file).catch(() => fs.rm(draft, { force: true }))
}

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
