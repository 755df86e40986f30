import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"

describe("inference pool shutdown", () => {
  it("closes with frames in flight: they settle, sessions are freed, and the process exits normally", () => {
    const script = new URL("./support/closeUnderLoad.ts", import.meta.url).pathname
    const tsx = new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url).pathname
    const run = spawnSync(process.execPath, [tsx, script], { encoding: "utf8", timeout: 120_000 })
    expect(run.stderr).not.toContain("terminate called")
    expect(run.status).toBe(0)
    const { ok, failed } = JSON.parse(run.stdout.trim().split("\n").pop()!) as { ok: number; failed: number }
    // Every frame got an answer: analysed before the close, or failed with a typed error after it.
    expect(ok + failed).toBe(120)
    expect(ok).toBeGreaterThan(0)
  })
})
