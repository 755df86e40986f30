import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { backup } from "../../src/store/Backup.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { Tenants } from "../../src/store/Tenants.ts"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

const dump = (server: TestServer) =>
  server.run(
    Effect.gen(function* () {
      const chunks: Array<string> = []
      const summary = yield* backup((c) => chunks.push(c))
      return { text: chunks.join(""), summary }
    })
  )

const hasPsql = spawnSync("psql", ["--version"]).status === 0

describe("backup", () => {
  let source: TestServer
  beforeAll(async () => {
    source = await startServer({ PGLITE_DIR: ":memory:", CANDOR_DEMO: "false", TOKEN_SECRET: "b".repeat(40) })
    await source.seed()
    await source.run(
      Effect.gen(function* () {
        const tenant = yield* (yield* Tenants).create({ name: "Tab\tand\nnewline \\ Co" })
        yield* (yield* Interviews).create(
          tenant.id,
          { candidate: { name: "Zoë" }, questions: [{ prompt: 'Quote "this"\tand\\that\nplease' }] },
          true
        )
      })
    )
  })
  afterAll(() => source?.close())

  it("writes every table as COPY blocks in foreign-key order, escaping tabs, newlines and backslashes", async () => {
    const { text, summary } = await dump(source)
    expect(summary.rows).toBeGreaterThan(5)
    const tables = [...text.matchAll(/^COPY public\."([a-z_]+)"/gm)].map((m) => m[1]!)
    expect(tables.indexOf("tenants")).toBeLessThan(tables.indexOf("interviews"))
    expect(tables.indexOf("interviews")).toBeLessThan(tables.indexOf("questions"))
    expect(tables).not.toContain("candor_migrations")
    expect(text).toContain("Tab\\tand\\nnewline \\\\ Co")
    expect(text.trimEnd().endsWith("COMMIT;")).toBe(true)
  })

  const real = backends().find((b) => b.name !== "embedded")
  it.skipIf(real === undefined || !hasPsql)(
    "restores with psql into a migrated Postgres database, row for row",
    async () => {
      const { text } = await dump(source)
      const env = await real!.env()
      const target = await startServer({ ...env, TOKEN_SECRET: "b".repeat(40) })
      try {
        execFileSync("psql", [env.DATABASE_URL!, "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"], { input: text })
        const again = await dump(target)
        expect(again.text.replace(/^--.*\n/gm, "")).toBe(text.replace(/^--.*\n/gm, ""))
      } finally {
        await target.close()
        await real!.cleanup()
      }
    }
  )
})
