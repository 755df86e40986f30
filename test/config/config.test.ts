import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Option, Redacted } from "effect"
import { shardingSettings } from "../../src/cluster/ClusterLayer.ts"
import { AppConfig, describeSettings } from "../../src/config.ts"
import * as Fs from "node:fs"

const load = (env: Record<string, string>) =>
  Effect.runPromiseExit(Effect.provide(Effect.service(AppConfig), AppConfig.layerFromRecord(env)))

const settings = async (env: Record<string, string>) => {
  const exit = await load(env)
  if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
  return exit.value
}

const failure = async (env: Record<string, string>) => {
  const exit = await load(env)
  if (Exit.isSuccess(exit)) throw new Error("expected a configuration error")
  return Cause.pretty(exit.cause)
}

describe("configuration", () => {
  it("runs on embedded defaults with nothing set", async () => {
    const s = await settings({})
    expect(s.host).toBe("127.0.0.1")
    expect(s.port).toBe(8080)
    expect(s.databaseUrl).toBeUndefined()
    expect(s.redisUrl).toBeUndefined()
    expect(s.s3).toBeUndefined()
    expect(s.pgliteDir.endsWith(".candor/pg")).toBe(true)
    expect(s.demo).toBe(true)
    expect(s.inference).toEqual({})
    expect(s.candidateMaxFps).toBeUndefined()
    expect(s.heapGrowingPercent).toBe(100)
  })

  it("passes only the inference settings that are set", async () => {
    const s = await settings({
      INFERENCE_WORKERS: "3",
      DETECT_EVERY: "1",
      INFERENCE_MAX_DELAY_MS: "0",
      INFERENCE_DECODER: "sharp",
      CANDIDATE_MAX_FPS: "5"
    })
    expect(s.inference).toEqual({ workers: 3, detectEvery: 1, maxDelayMs: 0, decoder: "sharp" })
    expect(s.candidateMaxFps).toBe(5)
  })

  it("stops with a message naming the variable and what it expects", async () => {
    expect(await failure({ PORT: "eighty" })).toContain("PORT")
    expect(await failure({ PORT: "70000" })).toContain("PORT")
    expect(await failure({ DATABASE_URL: "mysql://db" })).toMatch(/DATABASE_URL: expected a URL starting with postgres/)
    expect(await failure({ REDIS_URL: "localhost:6379" })).toMatch(/REDIS_URL: expected a URL starting with redis/)
    expect(await failure({ TOKEN_SECRET: "short" })).toMatch(/TOKEN_SECRET: expected at least 32 characters/)
    expect(await failure({ MAX_BODY_BYTES: "0" })).toMatch(/MAX_BODY_BYTES: expected a positive integer/)
    expect(await failure({ LOG_LEVEL: "loud" })).toContain("LOG_LEVEL")
    expect(await failure({ S3_FORCE_PATH_STYLE: "maybe" })).toContain("S3_FORCE_PATH_STYLE")
    expect(await failure({ DETECT_EVERY: "0" })).toMatch(/DETECT_EVERY: expected an integer of at least 1/)
    expect(await failure({ INFERENCE_WORKERS: "two" })).toContain("INFERENCE_WORKERS")
    expect(await failure({ INFERENCE_DECODER: "libpng" })).toContain("INFERENCE_DECODER")
    expect(await failure({ HEAP_GROWING_PERCENT: "-1" })).toMatch(/HEAP_GROWING_PERCENT: expected a percentage from 0/)
    expect(await failure({ HEAP_GROWING_PERCENT: "401" })).toContain("HEAP_GROWING_PERCENT")
    expect((await settings({ HEAP_GROWING_PERCENT: "0" })).heapGrowingPercent).toBe(0)
  })

  it("passes every cluster setting explicitly, and notices a killed runner within seconds whatever the failover", async () => {
    const cluster = {
      DATABASE_URL: "postgres://db:5432/candor",
      REDIS_URL: "redis://cache:6379",
      CLUSTER_RUNNER_ADDRESS: "10.0.0.5:34431",
      // effect/cluster's own reader would take these: they are Candor's HTTP address.
      HOST: "0.0.0.0",
      PORT: "8080"
    }
    const ms = (d: Duration.Input) => Duration.toMillis(Duration.fromInputUnsafe(d))
    const shipped = shardingSettings((await settings(cluster)).cluster!)
    expect(Option.getOrThrow(shipped.runnerAddress)).toMatchObject({ host: "10.0.0.5", port: 34431 })
    expect(Option.getOrThrow(shipped.runnerListenAddress)).toMatchObject({ host: "10.0.0.5", port: 34431 })
    // A frozen runner keeps its shards 9 s; a lock statement may take 3 s before the locks count as lost.
    expect(ms(shipped.shardLockExpiration)).toBe(9_000)
    expect(ms(shipped.shardLockRefreshInterval)).toBe(3_000)
    expect(ms(shipped.runnerHealthCheckInterval)).toBe(3_000)
    const quick = shardingSettings((await settings({ ...cluster, CLUSTER_FAILOVER_SECONDS: "4" })).cluster!)
    expect(ms(quick.shardLockExpiration)).toBe(4_000)
    expect(ms(quick.runnerHealthCheckInterval)).toBe(2_000)
    expect(await failure({ ...cluster, CLUSTER_FAILOVER_SECONDS: "2" })).toContain("CLUSTER_FAILOVER_SECONDS")
  })

  it("keeps secrets out of logs", async () => {
    const s = await settings({
      DATABASE_URL: "postgres://app:hunter2@db:5432/candor",
      REDIS_URL: "redis://:sekret@cache:6379",
      TOKEN_SECRET: "t".repeat(40),
      S3_BUCKET: "b",
      S3_SECRET_ACCESS_KEY: "aws-secret"
    })
    const logged = JSON.stringify(describeSettings(s)) + String(s.tokenSecret) + String(s.s3?.secretAccessKey)
    for (const secret of ["hunter2", "sekret", "t".repeat(40), "aws-secret"]) expect(logged).not.toContain(secret)
    expect(Redacted.value(s.databaseUrl!)).toContain("hunter2")
    expect(s.demo).toBe(false)
  })

  it("documents every variable it reads in the README's configuration table", () => {
    const readme = Fs.readFileSync(new URL("../../README.md", import.meta.url), "utf8")
    const table = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("### Pointing Candor"))
    // Every upper-case string literal of the modules that read the environment is a variable's name.
    const names = new Set<string>()
    for (const file of ["src/config.ts", "src/answers/AnswersConfig.ts", "src/reports/Reports.ts"]) {
      const text = Fs.readFileSync(new URL(`../../${file}`, import.meta.url), "utf8")
      for (const m of text.matchAll(/"([A-Z][A-Z0-9_]{2,})"/g)) names.add(m[1]!)
    }
    expect(names.size).toBeGreaterThan(35)
    for (const name of names) expect(table, name).toContain(`| \`${name}\` |`)
  })
})
