import { PGlite } from "@electric-sql/pglite"
import { describe, expect, it } from "@effect/vitest"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { openPglite, templateFile } from "../../src/store/PgliteTemplate.ts"

const tables = async (db: PGlite) =>
  (await db.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")).rows.map(
    (r) => r.name
  )

/**
 * A dump of a freshly initialised cluster, for setting the scene: initdb takes seconds, so the cases that are not
 * about a missing or damaged cache start from the machine's own cache (made the slow way first if there is none).
 */
const initdbDump = async (): Promise<Buffer> => {
  const shared = templateFile()!
  if (!existsSync(shared)) await (await openPglite(":memory:")).close()
  return readFileSync(shared)
}

/** A dump holding one table, `marker`, put where the cache belongs: a database started from it has that table. */
const markedTemplate = async (file: string) => {
  const db = new PGlite({ loadDataDir: new Blob([await initdbDump()]) })
  expect(await tables(db)).toEqual([])
  await db.exec("CREATE TABLE marker (x int)")
  writeFileSync(file, Buffer.from(await (await db.dumpDataDir("gzip")).arrayBuffer()))
  await db.close()
}

describe("PGlite's initdb cache", () => {
  const withCache = async (f: (dir: string, file: string) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), "candor-pglite-"))
    try {
      await f(dir, templateFile(join(dir, "cache"))!)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  it(
    "is named after PGlite's version, dumped by the first new database, and starts the later ones",
    () =>
      withCache(async (dir, file) => {
        expect(file).toMatch(/pglite-\d+\.\d+\.\d+-initdb\.tar\.gz$/)
        const first = await openPglite(":memory:", file)
        expect(await tables(first)).toEqual([])
        await first.close()
        expect(statSync(file).size).toBeGreaterThan(100_000)
        expect(readdirSync(join(dir, "cache"))).toEqual([file.split("/").at(-1)])

        await markedTemplate(file)
        const inMemory = await openPglite(":memory:", file)
        expect(await tables(inMemory)).toEqual(["marker"])
        await inMemory.close()
        const onDisk = await openPglite(join(dir, "pg"), file)
        expect(await tables(onDisk)).toEqual(["marker"])
        await onDisk.close()
        expect(existsSync(join(dir, "pg", "PG_VERSION"))).toBe(true)
      }),
    120_000
  )

  it(
    "never touches a database directory that already holds one",
    () =>
      withCache(async (dir, file) => {
        mkdirSync(dirname(file), { recursive: true })
        writeFileSync(file, await initdbDump())
        const data = join(dir, "pg")
        const db = await openPglite(data, file)
        expect(await tables(db)).toEqual([])
        await db.exec("CREATE TABLE kept (x int)")
        await db.close()
        await markedTemplate(file)
        const again = await openPglite(data, file)
        expect(await tables(again)).toEqual(["kept"])
        await again.close()
      }),
    120_000
  )

  it(
    "replaces a damaged dump and still opens the database",
    () =>
      withCache(async (dir, file) => {
        mkdirSync(dirname(file), { recursive: true })
        writeFileSync(file, "not a tarball")
        const data = join(dir, "pg")
        const db = await openPglite(data, file)
        expect(await tables(db)).toEqual([])
        await db.exec("CREATE TABLE t (x int)")
        await db.close()
        expect(statSync(file).size).toBeGreaterThan(100_000)
        const from = await openPglite(":memory:", file)
        expect(await tables(from)).toEqual([])
        await from.close()
      }),
    120_000
  )
})
