import { describe, expect, it } from "@effect/vitest"
import { type BenchOptions, parseBenchOptions, redactArgs, redactOptions } from "../../src/bench/BenchOptions.ts"

const parse = (args: Array<string>, env: Record<string, string> = {}) => parseBenchOptions(args, env, false)
const ok = (args: Array<string>, env: Record<string, string> = {}) => {
  const r = parse(args, env)
  if (typeof r === "string") throw new Error(r)
  return r as BenchOptions
}

describe("parseBenchOptions", () => {
  it("takes the documented flags, in both spellings", () => {
    const o = ok(["--sessions", "50", "--fps=5", "--duration", "30", "--json", "out.json", "--find-max"])
    expect(o).toMatchObject({
      sessions: 50,
      fps: 5,
      durationS: 30,
      jsonFile: "out.json",
      findMax: true,
      compare: false
    })
  })

  it("reads defaults from CANDOR_BENCH_* and lets flags win", () => {
    const o = ok(["--fps", "2"], { CANDOR_BENCH_FPS: "7", CANDOR_BENCH_SESSIONS: "12", CANDOR_BENCH_PEER: "1" })
    expect(o).toMatchObject({ fps: 2, sessions: 12, peer: true })
  })

  it("makes the smoke run short and complete", () => {
    const o = ok(["--smoke"])
    expect(o.durationS).toBeLessThanOrEqual(5)
    expect(o.saturate).toBe(true)
    expect(o.idle).toBeGreaterThan(0)
  })

  it("needs an API key to target a running engine, from the flag or CANDOR_API_KEY", () => {
    expect(parse(["--url", "http://h:1"])).toMatch(/api-key/)
    expect(ok(["--url", "http://h:1/"], { CANDOR_API_KEY: "k" })).toMatchObject({ url: "http://h:1", apiKey: "k" })
    expect(parse(["--url", "http://h:1", "--api-key", "k", "--compare"])).toMatch(/compare/)
  })

  it("refuses what it cannot honour, naming the flag", () => {
    expect(parse(["--sessions", "0"])).toMatch(/--sessions/)
    expect(parse(["--sessions", "2.5"])).toMatch(/--sessions/)
    expect(parse(["--fps"])).toMatch(/--fps needs a value/)
    expect(parse(["--max-shed", "1"])).toMatch(/--max-shed/)
    expect(parse(["--frobnicate"])).toMatch(/unknown option --frobnicate/)
    expect(parse(["--peer=yes"])).toMatch(/takes no value/)
    expect(parse(["stray"])).toMatch(/unexpected argument/)
    expect(parse(["--database-url", "mysql://x"])).toMatch(/postgres/)
  })

  it("shows progress only on a terminal", () => {
    expect(ok([]).progress).toBe(false)
    const tty = parseBenchOptions([], {}, true)
    expect(typeof tty !== "string" && tty.progress).toBe(true)
    const quiet = parseBenchOptions(["--no-progress"], {}, true)
    expect(typeof quiet !== "string" && quiet.progress).toBe(false)
  })

  it("never writes the API key or a database password into results", () => {
    expect(
      redactArgs(["--api-key", "sk-1", "--json", "out.json", "--database-url=postgres://u:pw@h/db", "--fps", "5"])
    ).toEqual(["--api-key", "***", "--database-url=postgres://u:***@h/db", "--fps", "5"])
    const o = ok(["--url", "http://h", "--api-key", "sk-1", "--database-url", "postgres://u:pw@h/db"])
    expect(redactOptions(o)).toMatchObject({ apiKey: "***", databaseUrl: "postgres://u:***@h/db" })
  })
})
