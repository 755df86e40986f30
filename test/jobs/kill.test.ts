/**
 * A durable job survives its engine: `candor serve` on embedded defaults is killed with SIGKILL in the middle of an
 * uploaded video's analysis, started again on the same data directory, and the job finishes — once: one analysis
 * row, the report showing every frame of the video.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { consentToAll } from "../support/Consent.ts"
import { type EngineProcess, freePort, seedEngine, startEngineProcess } from "../support/EngineProcess.ts"
import { makeFaceVideo } from "../video/support.ts"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("a durable job across a SIGKILL of its engine", () => {
  let dataDir: string
  let port: number
  let env: Record<string, string>
  let engine: EngineProcess | undefined
  let seed: { apiKey: string; interviewId: string; candidateToken: string }

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${engine!.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${seed.apiKey}`, ...init.headers }
    })
  const job = async (id: string) => (await (await call(`/v1/jobs/${id}`)).json()) as any

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "candor-kill-"))
    port = await freePort()
    env = { CANDOR_DATA_DIR: dataDir, CANDOR_DEMO: "false", INFERENCE_WORKERS: "1", JOB_POLL_MS: "100" }
    engine = await startEngineProcess(env, port)
    seed = await seedEngine(env)
    await consentToAll(engine.url, seed)
  })
  afterAll(async () => {
    await engine?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("finishes an uploaded video's analysis after the engine is killed mid-job, and writes its result once", async () => {
    // 150 frames: the job reports progress at most every 250 ms, so it is seen under way (≥ 0.1) and killed well
    // before its end even where one worker analyses them fast.
    const video = readFileSync(await makeFaceVideo(dataDir, { seconds: 30, blankSeconds: 0 }))
    const questionId = ((await (await call(`/v1/interviews/${seed.interviewId}`)).json()) as any).questions[0].id
    const uploaded = await call(`/v1/interviews/${seed.interviewId}/video?questionId=${questionId}`, {
      method: "POST",
      headers: { "content-type": "video/mp4" },
      body: video
    })
    expect(uploaded.status).toBe(202)
    const { jobId } = (await uploaded.json()) as { jobId: string }

    // Killed once the analysis is under way, well before its end.
    let before: any
    const started = Date.now()
    while (true) {
      before = await job(jobId)
      if (before.status === "running" && before.progress >= 0.1) break
      if (before.status === "succeeded") throw new Error("the job ended before the engine could be killed")
      if (Date.now() - started > 60_000) throw new Error(`the job did not get under way: ${JSON.stringify(before)}`)
      await sleep(25)
    }
    await engine!.kill()
    expect(before.progress).toBeLessThan(0.9)

    engine = await startEngineProcess(env, port)
    let after: any
    const restarted = Date.now()
    while (true) {
      after = await job(jobId)
      if (after.status === "succeeded" || after.status === "failed") break
      if (Date.now() - restarted > 90_000)
        throw new Error(`the job did not finish after restart: ${JSON.stringify(after)}`)
      await sleep(100)
    }
    expect(after).toMatchObject({ status: "succeeded", progress: 1, attempts: 2 })
    const report = (await (await call(`/v1/interviews/${seed.interviewId}/report`)).json()) as any
    const signals = report.questions.find((q: any) => q.questionId === questionId).signals
    expect(signals).toMatchObject({ source: "upload", frames: 150, jobId })
    expect(signals.facePresence).toBeGreaterThan(0.9)
  }, 240_000)
})
