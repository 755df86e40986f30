import { readFile } from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import sharp from "sharp"
import { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import { regionIoU } from "../../src/inference/FaceRegion.ts"
import type { TrackState } from "../../src/inference/FaceTracker.ts"
import { analyzeFrames, makePipeline, type Pipeline } from "../../src/inference/FramePipeline.ts"
import { DEFAULT_MODELS_DIR, ensureModels } from "../../src/inference/ModelBuilder.ts"
import { type FaceModels, loadOnnxModels } from "../../src/inference/OnnxModels.ts"
import type { FrameJob, FrameOutcome, WorkerSettings } from "../../src/inference/WorkerProtocol.ts"
import { blankJpeg, hugeHeaderJpeg, sample1, singleFaceJpeg, twentyFacesJpeg, workerSettings } from "./fixtures.ts"

const settings: WorkerSettings = workerSettings()

let models: FaceModels
const pipeline = (overrides: Partial<WorkerSettings> = {}): Pipeline =>
  makePipeline(models, { ...settings, ...overrides })

/** Runs one task holding `images`, each with the given job fields. */
const run = async (
  p: Pipeline,
  images: ReadonlyArray<{
    bytes: Uint8Array
    track?: TrackState | null
    affect?: boolean
    heatmap?: boolean
    heatmapFrom?: number
  }>
): Promise<Array<FrameOutcome>> => {
  const buffer = new ArrayBuffer(images.reduce((n, i) => n + i.bytes.byteLength, 0))
  let offset = 0
  const jobs = images.map((image, seq): FrameJob => {
    new Uint8Array(buffer).set(image.bytes, offset)
    const job = {
      seq,
      capturedAt: 1000 + seq,
      offset,
      length: image.bytes.byteLength,
      affect: image.affect ?? true,
      heatmap: image.heatmap ?? false,
      ...(image.heatmapFrom === undefined ? {} : { heatmapFrom: image.heatmapFrom }),
      track: image.track ?? null
    }
    offset += image.bytes.byteLength
    return job
  })
  return analyzeFrames(p, buffer, jobs)
}

const analysed = (outcome: FrameOutcome | undefined): { analysis: typeof FrameAnalysis.Type; track: TrackState } => {
  if (outcome?._tag !== "Analyzed") throw new Error(`expected an analysis, got ${JSON.stringify(outcome)}`)
  return outcome
}

beforeAll(async () => {
  await ensureModels()
  models = await loadOnnxModels(DEFAULT_MODELS_DIR)
})
afterAll(() => models?.release())

describe("FramePipeline", () => {
  it("finds the three faces of the demo photo and calls the laughing one happy", async () => {
    const [outcome] = await run(pipeline(), [{ bytes: await readFile(sample1) }])
    const { analysis, track } = analysed(outcome)
    expect([analysis.width, analysis.height, analysis.seq, analysis.capturedAt]).toEqual([1920, 1280, 0, 1000])
    expect(analysis.detectorRan).toBe(true)
    expect(analysis.faces).toHaveLength(3)
    const byX = [...analysis.faces].sort((a, b) => a.box[0] - b.box[0])
    expect(byX[2]!.emotion!.happy).toBeGreaterThanOrEqual(0.9)
    for (const face of analysis.faces) {
      const [x, y, w, h] = face.box
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x + w).toBeLessThanOrEqual(1920)
      expect(y + h).toBeLessThanOrEqual(1280)
      expect(w).toBeGreaterThan(100)
      expect(h).toBeGreaterThan(100)
      expect(face.score).toBeGreaterThan(0.5)
      expect(face.ear.mean).toBeGreaterThan(0.15)
      expect(face.ear.mean).toBeLessThan(0.45)
      expect(face.eyesClosed).toBe(face.ear.mean < 0.2)
      const sum = Object.values(face.emotion!).reduce((a, b) => a + b, 0)
      expect(sum).toBeCloseTo(1, 2)
      expect(face.keypoints).toHaveLength(6)
    }
    expect(track.sinceDetect).toBe(0)
    expect(track.faces).toHaveLength(3)
    expect(analysis.timings.totalMs).toBeGreaterThanOrEqual(analysis.timings.decodeMs)
    // what the worker sends is a valid FrameAnalysis (the wire and domain type)
    expect(Schema.is(FrameAnalysis)(analysis)).toBe(true)
    expect(Schema.is(FrameAnalysis)({ ...analysis, faces: [{ ...analysis.faces[0], emotion: {} }] })).toBe(false)
  })

  it("tracks a face into the next frame without the detector, and detects again every N frames", async () => {
    const jpeg = await singleFaceJpeg()
    const p = pipeline({ detectEvery: 3 })
    const first = analysed((await run(p, [{ bytes: jpeg }]))[0])
    expect(first.analysis.faces).toHaveLength(1)
    const second = analysed((await run(p, [{ bytes: jpeg, track: first.track }]))[0])
    expect(second.analysis.detectorRan).toBe(false)
    expect(second.analysis.timings.detectMs).toBe(0)
    expect(second.analysis.faces).toHaveLength(1)
    expect(regionIoU(first.track.faces[0]!, second.track.faces[0]!)).toBeGreaterThan(0.8)
    expect(second.track.sinceDetect).toBe(1)
    const pattern = [first, second].map((f) => f.analysis.detectorRan)
    let track = second.track
    for (let i = 0; i < 5; i++) {
      const next = analysed((await run(p, [{ bytes: jpeg, track }]))[0])
      expect(next.analysis.faces).toHaveLength(1)
      pattern.push(next.analysis.detectorRan)
      track = next.track
    }
    expect(pattern).toEqual([true, false, false, true, false, false, true])

    const always = analysed((await run(pipeline({ detectEvery: 1 }), [{ bytes: jpeg, track: first.track }]))[0])
    expect(always.analysis.detectorRan).toBe(true)
  })

  it("falls back to the detector in the same frame when the tracked face is lost", async () => {
    const jpeg = await singleFaceJpeg()
    const stale: TrackState = { sinceDetect: 0, faces: [{ cx: 60, cy: 400, size: 100, angle: 0 }] }
    const { analysis, track } = analysed((await run(pipeline(), [{ bytes: jpeg, track: stale }]))[0])
    expect(analysis.detectorRan).toBe(true)
    expect(analysis.faces).toHaveLength(1)
    expect(analysis.faces[0]!.box[0]).toBeGreaterThan(200)
    expect(track.faces).toHaveLength(1)
  })

  it("forgets faces that left the picture", async () => {
    const jpeg = await singleFaceJpeg()
    const first = analysed((await run(pipeline(), [{ bytes: jpeg }]))[0])
    const { analysis, track } = analysed((await run(pipeline(), [{ bytes: await blankJpeg(), track: first.track }]))[0])
    expect(analysis.faces).toEqual([])
    expect(track.faces).toEqual([])
  })

  it("measures a tracked face's emotion every N frames and carries it in between, marked as carried", async () => {
    const jpeg = await singleFaceJpeg()
    const p = pipeline({ emotionEvery: 3 })
    const first = analysed((await run(p, [{ bytes: jpeg }]))[0])
    const measured = first.analysis.faces[0]!.emotion!
    expect(first.analysis.faces[0]!.emotionCarried).toBeUndefined()
    expect(first.track.emotions).toEqual([{ scores: measured, age: 0 }])
    let track = first.track
    const pattern: Array<boolean> = []
    for (let i = 0; i < 6; i++) {
      const next = analysed((await run(p, [{ bytes: jpeg, track }]))[0])
      const face = next.analysis.faces[0]!
      pattern.push(face.emotionCarried === true)
      if (face.emotionCarried === true) {
        expect(next.analysis.timings.emotionMs).toBe(0)
        expect(face.emotion).toEqual(track.emotions![0]!.scores)
      } else {
        expect(next.analysis.timings.emotionMs).toBeGreaterThan(0)
      }
      expect(face.emotion!.happy).toBeGreaterThan(0.5)
      expect(Schema.is(FrameAnalysis)(next.analysis)).toBe(true)
      track = next.track
    }
    expect(pattern).toEqual([true, true, false, true, true, false])

    // A heat-map needs this frame's activation maps: the emotion is measured, not carried.
    const withMap = analysed((await run(p, [{ bytes: jpeg, track: first.track, heatmap: true }]))[0])
    expect(withMap.analysis.faces[0]!.emotionCarried).toBeUndefined()
    expect(withMap.analysis.heatmap).toBeDefined()
    // Affect off drops what was carried; turning it on again measures afresh.
    const off = analysed((await run(p, [{ bytes: jpeg, track: first.track, affect: false }]))[0])
    expect(off.analysis.faces[0]!.emotion).toBeNull()
    expect(off.track.emotions).toBeUndefined()
    const on = analysed((await run(p, [{ bytes: jpeg, track: off.track }]))[0])
    expect(on.analysis.faces[0]!.emotionCarried).toBeUndefined()
    expect(on.analysis.timings.emotionMs).toBeGreaterThan(0)
  })

  it("does not carry an emotion onto a face the detector found anew", async () => {
    const jpeg = await singleFaceJpeg()
    const first = analysed((await run(pipeline({ emotionEvery: 5 }), [{ bytes: jpeg }]))[0])
    // The tracked region misses the face: the detector finds it again, so its emotion is measured.
    const stale: TrackState = {
      sinceDetect: 0,
      faces: [{ cx: 60, cy: 400, size: 100, angle: 0 }],
      emotions: first.track.emotions!
    }
    const { analysis } = analysed((await run(pipeline({ emotionEvery: 5 }), [{ bytes: jpeg, track: stale }]))[0])
    expect(analysis.faces).toHaveLength(1)
    expect(analysis.faces[0]!.emotionCarried).toBeUndefined()
    expect(analysis.timings.emotionMs).toBeGreaterThan(0)
  })

  it("skips the emotion model entirely when affect is off", async () => {
    const jpeg = await singleFaceJpeg()
    const [off, on] = await run(pipeline(), [
      { bytes: jpeg, affect: false },
      { bytes: jpeg, affect: true }
    ])
    expect(analysed(off).analysis.faces[0]!.emotion).toBeNull()
    expect(analysed(off).analysis.timings.emotionMs).toBe(0)
    expect(analysed(on).analysis.faces[0]!.emotion!.happy).toBeGreaterThan(0.5)
  })

  it("rejects bad frames one by one and analyses the rest of the batch", async () => {
    const jpeg = await singleFaceJpeg()
    const outcomes = await run(pipeline(), [
      { bytes: jpeg },
      { bytes: new TextEncoder().encode("<html>not an image</html>") },
      { bytes: jpeg.subarray(0, jpeg.length >> 1) },
      { bytes: await sharp(jpeg).png().toBuffer() },
      { bytes: await sharp(jpeg).webp().toBuffer() },
      { bytes: await blankJpeg(1, 1) },
      { bytes: await hugeHeaderJpeg() },
      { bytes: await blankJpeg() }
    ])
    expect(outcomes.map((o) => (o._tag === "Rejected" ? o.reason : o.analysis.faces.length))).toEqual([
      1,
      "Undecodable",
      "Undecodable",
      1,
      1,
      0,
      "TooLarge",
      0
    ])
  })

  it("caps the faces per frame, keeping the best", async () => {
    const twenty = await twentyFacesJpeg()
    const capped = analysed((await run(pipeline(), [{ bytes: twenty }]))[0])
    expect(capped.analysis.faces).toHaveLength(10)
    expect(capped.track.faces).toHaveLength(10)
    const all = analysed((await run(pipeline({ maxFaces: 25 }), [{ bytes: twenty }]))[0])
    expect(all.analysis.faces).toHaveLength(20)
  })

  it("attaches a heat-map of the first face's top emotion when asked", async () => {
    const [outcome] = await run(pipeline(), [{ bytes: await singleFaceJpeg(), heatmap: true }])
    const { analysis } = analysed(outcome)
    expect(analysis.heatmap?.emotion).toBe("happy")
    const meta = await sharp(analysis.heatmap!.png).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 192, 192])
  })

  it("draws the heat-map when the first face's expression reaches the bar, measuring a carried one", async () => {
    const jpeg = await singleFaceJpeg()
    const p = pipeline({ emotionEvery: 5 })
    const first = analysed((await run(p, [{ bytes: jpeg }]))[0])
    const happy = first.analysis.faces[0]!.emotion!.happy
    expect(happy).toBeGreaterThan(0.5)
    // The next frame would carry the emotion: a bar below it measures it afresh and draws the map.
    const reached = analysed((await run(p, [{ bytes: jpeg, track: first.track, heatmapFrom: happy - 0.1 }]))[0])
    expect(reached.analysis.faces[0]!.emotionCarried).toBeUndefined()
    expect(reached.analysis.heatmap?.emotion).toBe("happy")
    // A bar above it: the emotion is carried as usual and nothing is drawn.
    const missed = analysed((await run(p, [{ bytes: jpeg, track: first.track, heatmapFrom: happy + 0.05 }]))[0])
    expect(missed.analysis.faces[0]!.emotionCarried).toBe(true)
    expect(missed.analysis.heatmap).toBeUndefined()
    // Measured on this frame but still below the bar: no map either.
    const fresh = analysed((await run(p, [{ bytes: jpeg, heatmapFrom: Math.min(1, happy + 0.05) }]))[0])
    expect(fresh.analysis.faces[0]!.emotionCarried).toBeUndefined()
    expect(fresh.analysis.heatmap).toBeUndefined()
  })
})
