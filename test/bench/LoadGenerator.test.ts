import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import sharp from "sharp"
import { LoadGenerator } from "../../src/bench/LoadGenerator.ts"
import type { CandidateSpec } from "../../src/bench/LoadProtocol.ts"
import { type FakeEngine, startFakeEngine } from "./FakeEngine.ts"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let clip: Array<Uint8Array>

beforeAll(async () => {
  clip = await Promise.all(
    [10, 120, 240].map((v) =>
      sharp({ create: { width: 32, height: 24, channels: 3, background: { r: v, g: v, b: v } } })
        .jpeg()
        .toBuffer()
    )
  )
})

/** Interviews created through the fake's recruiter API, as the bench does. */
const interviews = async (engine: FakeEngine, n: number, answerAfterMs = 100): Promise<Array<CandidateSpec>> =>
  Promise.all(
    Array.from({ length: n }, async () => {
      const r = await fetch(`${engine.url}/v1/interviews`, {
        method: "POST",
        headers: { authorization: `Bearer ${engine.apiKey}` },
        body: JSON.stringify({ candidate: { name: "x" }, questions: [{}, {}, {}] })
      })
      const body = (await r.json()) as { id: string; candidateToken: string }
      return { interviewId: body.id, token: body.candidateToken, questions: 3, answerAfterMs }
    })
  )

describe("LoadGenerator against a scripted engine", () => {
  const engines: Array<FakeEngine> = []
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()))
  })

  it("accounts for every frame: analysed, shed by the engine, or lost", async () => {
    const engine = await startFakeEngine({ analysisDelayMs: 15, shedEvery: 5, ignoreEvery: 7, maxFps: 30 })
    engines.push(engine)
    const generator = LoadGenerator.start({ url: engine.url, clips: [clip], threads: 2, lossTimeoutMs: 300 })
    const added = await generator.add(await interviews(engine, 4), { _tag: "Paced", fps: 20 })
    expect(added).toEqual({ opened: 4, refused: 0 })
    await sleep(1500)
    await generator.stop()
    const s = generator.windowStats(0, Number.POSITIVE_INFINITY)
    expect(s.sent).toBeGreaterThan(20)
    expect(s.sent).toBe(engine.framesReceived())
    expect(engine.badFrames()).toBe(0)
    expect(s.analysed + s.rejected + s.lost).toBe(s.sent)
    expect(s.rejected).toBeGreaterThan(0)
    expect(s.lost).toBeGreaterThan(0)
    expect(s.events["shed:frame_shed"]).toBe(s.rejected)
    // The engine answers after 15 ms at the earliest: every measured latency includes that delay.
    expect(s.latencyMs.p50).toBeGreaterThanOrEqual(15)
    expect(s.facesPerFrame).toBe(1)
    expect(s.shedRatio).toBeCloseTo((s.offered - s.analysed) / s.offered, 10)
  })

  it("starts the interview, streams only once a question arrives, and answers each question once", async () => {
    const engine = await startFakeEngine({ analysisDelayMs: 1, shedEvery: 0, ignoreEvery: 0, maxFps: 30 })
    engines.push(engine)
    const generator = LoadGenerator.start({ url: engine.url, clips: [clip], threads: 1, lossTimeoutMs: 1000 })
    await generator.add(await interviews(engine, 2, 50), { _tag: "Paced", fps: 10 })
    await sleep(1200)
    await generator.stop()
    const answers = engine.answers()
    // 3 questions each, answered after ~50 ms: both candidates get through all of them, never twice.
    expect(answers).toHaveLength(6)
    expect(new Set(answers.map((a) => `${a.interviewId}/${a.questionId}`)).size).toBe(6)
    const s = generator.windowStats(0, Number.POSITIVE_INFINITY)
    expect(s.events.question).toBe(6)
    expect(s.lost).toBe(0)
  })

  it("streams no faster than the session's maxFps: the rest of the camera's frames are skipped", async () => {
    const engine = await startFakeEngine({ analysisDelayMs: 1, shedEvery: 0, ignoreEvery: 0, maxFps: 5 })
    engines.push(engine)
    const generator = LoadGenerator.start({ url: engine.url, clips: [clip], threads: 1, lossTimeoutMs: 1000 })
    await generator.add(await interviews(engine, 2), { _tag: "Paced", fps: 20 })
    await sleep(1500)
    await generator.stop()
    const s = generator.windowStats(0, Number.POSITIVE_INFINITY)
    expect(s.skipped).toBeGreaterThan(s.sent)
    expect(s.offered).toBe(s.sent + s.skipped)
  })

  it("keeps idle candidates connected without sending frames, and counts refused joins", async () => {
    const engine = await startFakeEngine({ analysisDelayMs: 1, shedEvery: 0, ignoreEvery: 0, maxFps: 30 })
    engines.push(engine)
    const generator = LoadGenerator.start({ url: engine.url, clips: [clip], threads: 2, lossTimeoutMs: 1000 })
    const specs = await interviews(engine, 6)
    const bad = { ...specs[0]!, token: "forged" }
    const r = await generator.add([...specs, bad], { _tag: "Idle" })
    expect(r).toEqual({ opened: 6, refused: 1 })
    await sleep(1100)
    expect(generator.open).toBe(6)
    await generator.stop()
    expect(engine.framesReceived()).toBe(0)
  })

  it("keeps a closed-loop window in flight, paced by the engine's maxFps", async () => {
    const engine = await startFakeEngine({ analysisDelayMs: 5, shedEvery: 0, ignoreEvery: 0, maxFps: 10 })
    engines.push(engine)
    const generator = LoadGenerator.start({ url: engine.url, clips: [clip], threads: 1, lossTimeoutMs: 1000 })
    await generator.add(await interviews(engine, 2), { _tag: "ClosedLoop", window: 2 })
    await sleep(1500)
    await generator.stop()
    const s = generator.windowStats(0, Number.POSITIVE_INFINITY)
    expect(s.analysed).toBeGreaterThan(4)
    expect(s.skipped).toBe(0)
    // 2 candidates × at most 10 frames/s × ~1.5 s (+ the first window): far fewer than an unpaced loop.
    expect(s.sent).toBeLessThanOrEqual(2 * (10 * 2 + 2))
  })

  it("reconnects a dropped candidate, which resumes streaming where its interview stood", async () => {
    const engine = await startFakeEngine({
      analysisDelayMs: 1,
      shedEvery: 0,
      ignoreEvery: 0,
      maxFps: 30,
      dropAfterFrames: 3
    })
    engines.push(engine)
    const generator = LoadGenerator.start({ url: engine.url, clips: [clip], threads: 1, lossTimeoutMs: 1000 })
    await generator.add(await interviews(engine, 2, 60_000), { _tag: "Paced", fps: 20 })
    await sleep(1500)
    await generator.stop()
    const s = generator.windowStats(0, Number.POSITIVE_INFINITY)
    expect(s.events["closedByServer:1006"]).toBe(2)
    expect(s.events.reconnected).toBe(2)
    // Each candidate's third frame died with its socket (and, on a slow machine, one sent before the close was
    // noticed); streaming went on over the new one.
    expect(s.lost).toBeGreaterThanOrEqual(2)
    expect(s.lost).toBeLessThanOrEqual(4)
    expect(s.analysed + s.lost).toBe(s.sent)
    expect(s.analysed).toBeGreaterThan(2 * 4)
  })
})
