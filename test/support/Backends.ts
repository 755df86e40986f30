/**
 * The backends every storage and API test runs on: embedded defaults always, and the real Postgres and Redis
 * when `DATABASE_URL` / `REDIS_URL` are set (CI sets them). Each test file gets its own Postgres database and
 * Redis key prefix, so runs never collide.
 */
import { randomBytes } from "node:crypto"
import { PgClient } from "./PgAdmin.ts"

export interface Backend {
  readonly name: string
  /** Environment for `AppConfig.layerFromRecord`. */
  readonly env: () => Promise<Record<string, string>>
  readonly cleanup: () => Promise<void>
}

const unique = () => `t${Date.now().toString(36)}${randomBytes(4).toString("hex")}`

const embedded = (): Backend => ({
  name: "embedded",
  env: async () => ({ PGLITE_DIR: ":memory:", CANDOR_DEMO: "false" }),
  cleanup: async () => {}
})

const real = (databaseUrl: string, redisUrl: string | undefined): Backend => {
  const created: Array<string> = []
  return {
    name: redisUrl === undefined ? "postgres" : "postgres+redis",
    env: async () => {
      const db = `candor_${unique()}`
      await PgClient.createDatabase(databaseUrl, db)
      created.push(db)
      const url = new URL(databaseUrl)
      url.pathname = `/${db}`
      return {
        DATABASE_URL: url.toString(),
        CANDOR_DEMO: "false",
        ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl, REDIS_PREFIX: `candor-test:${unique()}:` })
      }
    },
    cleanup: async () => {
      for (const db of created.splice(0)) await PgClient.dropDatabase(databaseUrl, db)
    }
  }
}

export const backends = (): ReadonlyArray<Backend> => {
  const list = [embedded()]
  const databaseUrl = process.env.DATABASE_URL
  if (databaseUrl !== undefined && databaseUrl !== "") list.push(real(databaseUrl, process.env.REDIS_URL || undefined))
  return list
}
