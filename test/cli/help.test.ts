import { describe, expect, it } from "@effect/vitest"
import { cli } from "../support/Cli.ts"

/** Every verb with the flags (or arguments) its help must list. */
const verbs: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["serve", ["SIGTERM"]],
  ["models", ["--force", "--record", "--out DIR", "--only LIST"]],
  ["analyze", ["image|dir...", "--json", "--heatmap FILE", "--no-affect"]],
  [
    "bench",
    [
      "--sessions N",
      "--fps F",
      "--duration S",
      "--warmup S",
      "--url URL",
      "--api-key KEY",
      "--json FILE",
      "--results DIR",
      "--find-max",
      "--step N",
      "--max-sessions N",
      "--budget-ms MS",
      "--max-shed R",
      "--saturate",
      "--compare",
      "--peer",
      "--idle N",
      "--smoke",
      "--threads N",
      "--cores N",
      "--database-url URL",
      "--redis-url URL",
      "--cluster N",
      "--rounds N",
      "--frames-dir DIR",
      "--profile DIR",
      "--no-progress",
      "CANDOR_BENCH_<FLAG>"
    ]
  ],
  ["migrate", ["migrations"]],
  ["seed", ["--json"]],
  ["backup", ["--out FILE"]],
  ["help", ["verb"]]
]

/** `flag` as a whole word of the help, so that `--no-affect` is not found in `--no-affects`. */
const lists = (help: string, flag: string) =>
  new RegExp(`(^|\\s)${flag.replace(/[|.]/g, "\\$&")}(?=[\\s,]|$)`, "m").test(help)

describe("candor --help", () => {
  it("lists every verb, and `candor` alone shows the same", async () => {
    const help = await cli(["--help"])
    expect(help.code).toBe(0)
    for (const [verb] of verbs) expect(help.stdout).toMatch(new RegExp(`^  ${verb}\\b`, "m"))
    expect(help.stdout).toContain("serve, start")
    const bare = await cli([])
    expect(bare).toEqual(help)
  })

  it.each(verbs)("for %s lists its flags, on stdout", async (verb, expected) => {
    const r = await cli([verb, "--help"])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe("")
    expect(r.stdout).toContain(`candor ${verb} [flags]`)
    for (const flag of expected) expect(lists(r.stdout, flag), flag).toBe(true)
  })

  it.each([
    [
      ["tenant", "create"],
      ["--name N", "--region eu|us|other", "--affect on|off", "--json"]
    ],
    [["tenant", "list"], ["--json"]],
    [
      ["key", "create"],
      ["--tenant ID", "--role admin|recruiter|reader", "--label L", "--json"]
    ],
    [
      ["key", "list"],
      ["--tenant ID", "--json"]
    ],
    [["key", "revoke"], ["KEY_ID"]]
  ] as const)("for %j lists its flags, on stdout", async (words, expected) => {
    const r = await cli([...words, "--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`candor ${words.join(" ")}`)
    for (const flag of expected) expect(lists(r.stdout, flag), flag).toBe(true)
  })

  it("is the same through `candor help <verb>`, `-h` and the `start` alias", async () => {
    const seed = await cli(["seed", "--help"])
    expect(await cli(["help", "seed"])).toEqual(seed)
    expect(await cli(["seed", "-h"])).toEqual(seed)
    expect((await cli(["start", "--help"])).stdout).toEqual((await cli(["serve", "--help"])).stdout)
  })
})

describe("candor usage errors", () => {
  it("exit 2 and name the flag, with a suggestion for a typo", async () => {
    const typo = await cli(["seed", "--jsn"])
    expect(typo.code).toBe(2)
    expect(typo.stdout).toBe("")
    expect(typo.stderr).toMatch(/Unrecognized flag: --jsn in command candor seed\s+Did you mean this\?\s+--json/)

    const missing = await cli(["backup", "--out"])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("Missing value for flag --out")

    const models = await cli(["models", "--only", "emotion,nosuchmodel"])
    expect(models.code).toBe(2)
    expect(models.stderr).toContain('Invalid value for flag --only: "emotion,nosuchmodel"')

    const stray = await cli(["migrate", "now"])
    expect(stray.code).toBe(2)
    expect(stray.stderr).toContain('Unexpected positional argument: "now"')
  })

  it("check a verb's flags together before it runs", async () => {
    const bench = await cli(["bench", "--sessions", "0"])
    expect(bench.code).toBe(2)
    expect(bench.stderr).toContain("--sessions expects a positive integer")
    const analyze = await cli(["analyze", "face.jpg", "--heatmap", "heat.png", "--no-affect"])
    expect(analyze.code).toBe(2)
    expect(analyze.stderr).toContain("--heatmap needs emotion analysis; drop --no-affect")
  })

  it("show the version", async () => {
    expect((await cli(["--version"])).stdout).toMatch(/^candor \d+\.\d+\.\d+$/)
  })
})
