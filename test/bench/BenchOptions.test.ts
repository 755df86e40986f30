import { describe, expect, it } from "@effect/vitest"
import { type BenchOptions, redactArgs, redactOptions } from "../../src/bench/BenchOptions.ts"
import { benchOptionsOf } from "../support/Cli.ts"

const parse = (args: Array<string>, env: Record<string, string> = {}) => benchOptionsOf(args, env, false)
const ok = async (args: Array<string>, env: Record<string, string> = {}) => {
  const r = await parse(args, env)
  if (typeof r === "string") throw new Error(r)
  return r as BenchOptions
}

describe("candor bench options", () => {
  it("takes the documented flags, in both spellings", async () => {
    const o = await ok(["--sessions", "50", "--fps=5", "--duration", "30", "--json", "out.json", "--find-max"])
    expect(o).toMatchObject({
      sessions: 50,
      fps: 5,
      durationS: 30,
      jsonFile: "out.json",
      findMax: true,
      compare: false
    })
  })

  it("fills in the defaults", async () => {
    expect(await ok([])).toMatchObject({ sessions: 10, fps: 5, durationS: 15, warmupS: 5, step: 10, smoke: false })
  })

  it("reads defaults from CANDOR_BENCH_* and lets flags win", async () => {
    const env = {
      CANDOR_BENCH_FPS: "7",
      CANDOR_BENCH_SESSIONS: "12",
      CANDOR_BENCH_PEER: "1",
      CANDOR_BENCH_MAX_SHED: "0.2"
    }
    expect(await ok(["--fps", "2"], env)).toMatchObject({ fps: 2, sessions: 12, peer: true, maxShed: 0.2 })
    expect(await parse([], { CANDOR_BENCH_SESSIONS: "many" })).toMatch(/--sessions/)
  })

  it("makes the smoke run short and complete", async () => {
    const o = await ok(["--smoke"])
    expect(o.durationS).toBeLessThanOrEqual(5)
    expect(o.saturate).toBe(true)
    expect(o.idle).toBeGreaterThan(0)
  })

  it("needs an API key to target a running engine, from the flag or CANDOR_API_KEY", async () => {
    expect(await parse(["--url", "http://h:1"])).toMatch(/api-key/)
    expect(await ok(["--url", "http://h:1/"], { CANDOR_API_KEY: "k" })).toMatchObject({
      url: "http://h:1",
      apiKey: "k"
    })
    expect(await parse(["--url", "http://h:1", "--api-key", "k", "--compare"])).toMatch(/compare/)
  })

  it("refuses what it cannot honour, naming the flag", async () => {
    expect(await parse(["--sessions", "0"])).toMatch(/--sessions expects a positive integer/)
    expect(await parse(["--sessions", "2.5"])).toMatch(/--sessions/)
    expect(await parse(["--fps"])).toMatch(/Missing value for flag --fps/)
    expect(await parse(["--max-shed", "1"])).toMatch(/--max-shed/)
    expect(await parse(["--frobnicate"])).toMatch(/Unrecognized flag: --frobnicate/)
    expect(await parse(["--peer=maybe"])).toMatch(/--peer/)
    expect(await parse(["stray"])).toMatch(/Unexpected positional argument: "stray"/)
    expect(await parse(["--database-url", "mysql://x"])).toMatch(/postgres/)
  })

  it("shows progress only on a terminal", async () => {
    expect((await ok([])).progress).toBe(false)
    const tty = await benchOptionsOf([], {}, true)
    expect(typeof tty !== "string" && tty.progress).toBe(true)
    const quiet = await benchOptionsOf(["--no-progress"], {}, true)
    expect(typeof quiet !== "string" && quiet.progress).toBe(false)
  })

  it("never writes the API key or a database password into results", async () => {
    expect(
      redactArgs(["--api-key", "sk-1", "--json", "out.json", "--database-url=postgres://u:pw@h/db", "--fps", "5"])
    ).toEqual(["--api-key", "***", "--database-url=postgres://u:***@h/db", "--fps", "5"])
    const o = await ok(["--url", "http://h", "--api-key", "sk-1", "--database-url", "postgres://u:pw@h/db"])
    expect(redactOptions(o)).toMatchObject({ apiKey: "***", databaseUrl: "postgres://u:***@h/db" })
  })
})
