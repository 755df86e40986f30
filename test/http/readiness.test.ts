/**
 * Readiness is the truth: `/readyz` answers 200 only when every route serves (both WebSockets, the inference pool's
 * models loaded) and the stores answer; before that, routes answer 503 `starting` (never 404), and from the first
 * moment of shutdown `/readyz` answers 503.
 *
 * The restart case is what a load balancer does: poll `/readyz` and send a candidate the instant it turns 200, across
 * restarts on an existing data directory. READINESS_RESTARTS sets how many (default 3; the check used 20).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { httpLayer } from "../../src/main.ts"
import { Client } from "../sessions/support/Candidate.ts"
import { startEngine } from "../sessions/support/Engine.ts"
import { backends } from "../support/Backends.ts"
import { freePort, seedEngine, spawnEngine, statusOf } from "../support/EngineProcess.ts"
import { readyz } from "../support/Http.ts"

const RESTARTS = Number(process.env.READINESS_RESTARTS ?? 3)

describe("readiness in one process", () => {
  it("answers 503 starting on every route but the operational ones until the live layer is built", async () => {
    // The HTTP layer alone: the server listens, but no session layer ever opens it.
    const engine = await startEngine({ PGLITE_DIR: ":memory:", CANDOR_DEMO: "false" }, {}, undefined, (options) =>
      httpLayer(options)
    )
    try {
      const seed = await engine.seedWithoutConsent()
      const ready = await readyz(engine.url)
      expect(ready.status).toBe(503)
      expect(ready.body.status).toBe("starting")
      expect(ready.body.checks.sessions?.ok).toBe(false)
      expect(ready.body.checks.database?.ok).toBe(true)
      expect(await statusOf(`${engine.url}/healthz`)).toBe(200)
      const list = await fetch(`${engine.url}/v1/interviews`, { headers: { authorization: `Bearer ${seed.apiKey}` } })
      expect(list.status).toBe(503)
      expect(list.headers.get("retry-after")).toBe("1")
      expect(((await list.json()) as { error: { code: string } }).error.code).toBe("starting")
      // The WebSocket routes are not registered yet: 503 starting, not 404.
      const refused = await Client.candidate(engine.wsUrl, seed.interviewId, seed.candidateToken).catch(
        (e: { status?: number; body?: string }) => e
      )
      expect(refused).toMatchObject({ status: 503 })
      expect((refused as { body: string }).body).toContain('"starting"')
    } finally {
      await engine.close()
    }
  })

  it("answers 503 at once when shutdown begins, while sessions are still being flushed", async () => {
    const engine = await startEngine({ PGLITE_DIR: ":memory:", CANDOR_DEMO: "false" })
    const seed = await engine.seed()
    const c = await Client.candidate(engine.wsUrl, seed.interviewId, seed.candidateToken)
    await c.next("session", 0)
    expect((await readyz(engine.url)).status).toBe(200)
    const closing = engine.close()
    const during = await readyz(engine.url)
    expect(during.status).toBe(503)
    expect(during.body.status).toBe("draining")
    await closing
  })
})

for (const backend of backends()) {
  describe(`readiness across restarts on ${backend.name}`, () => {
    const dirs: Array<string> = []
    afterAll(async () => {
      await backend.cleanup()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    it(
      `a candidate sent the instant /readyz turns 200 gets a session, ${RESTARTS} restarts in a row`,
      async () => {
        const dataDir = mkdtempSync(join(tmpdir(), "candor-ready-"))
        dirs.push(dataDir)
        const { PGLITE_DIR: _memory, ...backendEnv } = await backend.env()
        const env = { ...backendEnv, CANDOR_DATA_DIR: dataDir, CANDOR_DEMO: "false", INFERENCE_WORKERS: "1" }
        const port = await freePort()
        const url = `http://127.0.0.1:${port}`
        let engine = spawnEngine(env, port)
        const waitReady = async () => {
          const started = Date.now()
          let early = 0
          while (Date.now() - started < 60_000) {
            const status = await statusOf(`${url}/readyz`)
            if (status === 200) return { ms: Date.now() - started, early }
            if (status === 503) early++
            await new Promise((r) => setTimeout(r, 5))
          }
          throw new Error(`not ready within 60 s:\n${engine.output()}`)
        }
        try {
          await waitReady()
          const seed = await seedEngine({ ...env, PORT: String(port) })
          const wsUrl = url.replace(/^http/, "ws")
          for (let i = 0; i < RESTARTS; i++) {
            engine.signal("SIGTERM")
            // From the moment the engine has the signal on, never 200 again: 503 while draining, then nothing.
            while (!engine.output().includes("SIGTERM received")) await new Promise((r) => setTimeout(r, 1))
            for (let status = await statusOf(`${url}/readyz`); status !== 0; status = await statusOf(`${url}/readyz`)) {
              expect(status).not.toBe(200)
            }
            expect((await engine.exited).code).toBe(0)
            engine = spawnEngine(env, port)
            await waitReady()
            const c = await Client.candidate(wsUrl, seed.interviewId, seed.candidateToken)
            const session = await c.next("session", 0, 10_000)
            expect(session.interviewId).toBe(seed.interviewId)
            c.close()
          }
        } finally {
          await engine.stop()
        }
      },
      60_000 + RESTARTS * 15_000
    )
  })
}
