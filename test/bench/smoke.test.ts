/**
 * `candor bench --smoke` end to end: a real engine (child process), real WebSockets, real frames and models.
 * It checks that the harness completes and its numbers are sane — never how fast anything is.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import type { BenchResults } from "../../src/bench/BenchResults.ts"
import { cli } from "../support/Cli.ts"

describe("candor bench --smoke", () => {
  it("runs every phase against a started engine and reports sane figures", { timeout: 240_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "candor-bench-smoke-"))
    try {
      const json = path.join(dir, "results.json")
      const { code, stderr } = await cli(["bench", "--smoke", "--no-progress", "--json", json, "--results", dir])
      expect(code, stderr).toBe(0)
      const r = JSON.parse(await readFile(json, "utf8")) as BenchResults
      expect(r.load?.stats.analysed).toBeGreaterThan(0)
      expect(r.load?.stats.facesPerFrame).toBeCloseTo(1, 1)
      expect(r.saturate?.stats.analysed).toBeGreaterThan(0)
      expect(r.idle?.opened).toBe(r.idle?.sockets)
      expect(r.modelBound.framesPerSecond).toBeGreaterThan(0)
      expect(r.efficiency?.throughServer?.inProcessFramesPerSecond).toBeGreaterThan(0)
      const markdown = await readFile(path.join(dir, "RESULTS.md"), "utf8")
      expect(markdown).toContain("## Targets")
      expect(await readFile(path.join(dir, "latency.svg"), "utf8")).toMatch(/^<svg/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
