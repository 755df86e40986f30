/**
 * Answers, scoring jobs and sample scores survive `candor backup` and a restore with psql. Restoring `answers`
 * must not enqueue jobs of its own (the trigger would, and the restored `scoring_jobs` rows would then collide):
 * a restore sets `candor.restoring`, which the trigger honours.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { execFileSync, spawnSync } from "node:child_process"
import { backup } from "../../src/store/Backup.ts"
import { backends } from "../support/Backends.ts"
import { startReportsServer } from "../support/ReportsServer.ts"
import { createInterview, settle, submit } from "./harness.ts"

const restoring = "SELECT set_config('candor.restoring', 'on', true);"

/** The backup script, with the restore marker after its BEGIN (unless the script has it already). */
const dump = async (server: Awaited<ReturnType<typeof startReportsServer>>) => {
  const chunks: Array<string> = []
  await server.run(backup((c) => chunks.push(c)))
  const text = chunks.join("")
  return text.includes(restoring) ? text : text.replace(/^BEGIN;$/m, `BEGIN;\n${restoring}`)
}

const real = backends().find((b) => b.name !== "embedded")
const hasPsql = spawnSync("psql", ["--version"]).status === 0

describe("backup and restore of scored answers", () => {
  it("marks a restore so the answers trigger leaves the restored jobs alone", async () => {
    const server = await startReportsServer({ PGLITE_DIR: ":memory:", CANDOR_DEMO: "false" }, undefined, {
      workers: false
    })
    try {
      const interview = await createInterview(server)
      const jobs = await server.run(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          return yield* Effect.gen(function* () {
            yield* sql`SELECT set_config('candor.restoring', 'on', true)`
            yield* sql`
              INSERT INTO answers (id, interview_id, question_id, source, body, idempotency_key)
              VALUES (${crypto.randomUUID()}, ${interview.id}, ${interview.questions[0]!.id}, 'text', 'x', 'restored')`
            return yield* sql<{
              n: number
            }>`SELECT count(*)::int AS n FROM scoring_jobs WHERE interview_id = ${interview.id}`
          }).pipe(sql.withTransaction)
        })
      )
      expect(jobs[0]!.n).toBe(0)
      await submit(server, interview, 1)
      const after = await server.run(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM scoring_jobs WHERE interview_id = ${interview.id}`
        )
      )
      expect(after[0]!.n).toBe(1)
    } finally {
      await server.close()
    }
  })

  it.skipIf(real === undefined || !hasPsql)("restores answers, jobs and scores with psql, row for row", async () => {
    const source = await startReportsServer({ PGLITE_DIR: ":memory:", CANDOR_DEMO: "false" }, undefined, {
      workers: false
    })
    const env = await real!.env()
    const target = await startReportsServer(env, undefined, { workers: false })
    try {
      const interview = await createInterview(source)
      await submit(source, interview, 0)
      await submit(source, interview, 1)
      await settle(source, interview.id)
      const text = await dump(source)
      expect(text).toContain('COPY public."scoring_jobs"')
      execFileSync("psql", [env.DATABASE_URL!, "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"], { input: text })
      expect((await dump(target)).replace(/^--.*\n/gm, "")).toBe(text.replace(/^--.*\n/gm, ""))
    } finally {
      await source.close()
      await target.close()
      await real!.cleanup()
    }
  })
})
