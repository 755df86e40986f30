/**
 * The fast decoder (libjpeg-turbo on the worker's thread) against the reference (sharp), whole pipeline, same
 * frames, one process: the bench's webcam clips with tracking on (each path keeps its own tracking state, as a
 * session would) and the face-api demo photos from scratch. Detections must agree (same count, boxes IoU ≥ 0.9),
 * emotions in ≥ 98 % of faces by their top class, and the eye aspect ratio within 0.01.
 */
import { analyseOne as analyse, boxIoU, topEmotion } from "../../src/bench/FaceAgreement.ts"
import { readFile } from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Face } from "../../schemas/FrameAnalysis.ts"
import { demoPhotos, loadClips } from "../../src/bench/BenchFrames.ts"
import type { TrackState } from "../../src/inference/FaceTracker.ts"
import { makePipeline, type Pipeline } from "../../src/inference/FramePipeline.ts"
import { type Decoder, decodeJpegTurbo } from "../../src/inference/ImageOps.ts"
import { DEFAULT_MODELS_DIR, ensureModels } from "../../src/inference/ModelBuilder.ts"
import { type FaceModels, loadOnnxModels } from "../../src/inference/OnnxModels.ts"
import type { WorkerSettings } from "../../src/inference/WorkerProtocol.ts"
import { workerSettings } from "./fixtures.ts"

const settings = (decoder: Decoder): WorkerSettings =>
  workerSettings({
    decoder,
    // The engine's default: the detector runs on a clip's first frame and every 30th, the mesh tracks in between.
    detectEvery: 30
    // Every face's emotion is measured on every frame (emotionEvery 1), so every frame counts in the agreement.
  })

let models: FaceModels
let reference: Pipeline
let fast: Pipeline

beforeAll(async () => {
  await ensureModels()
  models = await loadOnnxModels(DEFAULT_MODELS_DIR)
  reference = makePipeline(models, settings("sharp"))
  fast = makePipeline(models, settings("turbo"))
})
afterAll(() => models?.release())

/** Running comparison of the two paths' faces. */
class Agreement {
  frames = 0
  countMismatches: Array<string> = []
  faces = 0
  sameTop = 0
  minIoU = 1
  maxEarDiff = 0

  add(where: string, ref: ReadonlyArray<Face>, got: ReadonlyArray<Face>): void {
    this.frames++
    if (ref.length !== got.length) {
      this.countMismatches.push(`${where}: ${ref.length} vs ${got.length} faces`)
      return
    }
    const unused = [...got]
    for (const r of ref) {
      // Pair each reference face with the fast path's face over it.
      const k = unused.reduce((best, g, i) => (boxIoU(r.box, g.box) > boxIoU(r.box, unused[best]!.box) ? i : best), 0)
      const g = unused.splice(k, 1)[0]!
      this.faces++
      this.minIoU = Math.min(this.minIoU, boxIoU(r.box, g.box))
      for (const side of ["left", "right", "mean"] as const) {
        this.maxEarDiff = Math.max(this.maxEarDiff, Math.abs(r.ear[side] - g.ear[side]))
      }
      if (topEmotion(r) === topEmotion(g)) this.sameTop++
    }
  }

  check(): void {
    expect(this.frames).toBeGreaterThan(0)
    expect(this.countMismatches).toEqual([])
    expect(this.faces).toBeGreaterThan(0)
    expect(this.minIoU).toBeGreaterThanOrEqual(0.9)
    expect(this.sameTop / this.faces).toBeGreaterThanOrEqual(0.98)
    expect(this.maxEarDiff).toBeLessThanOrEqual(0.01)
  }

  toString(): string {
    return `${this.frames} frames, ${this.faces} faces: min IoU ${this.minIoU.toFixed(3)}, top emotion agrees ${this.sameTop}/${this.faces}, max EAR difference ${this.maxEarDiff.toFixed(4)}`
  }
}

const options = { maxPixels: 4096 * 4096, maxSide: 1920 }

describe("the turbo decoder against sharp (the reference)", () => {
  it("agrees on the bench's webcam clips, tracking on", async () => {
    const { clips } = await loadClips()
    const agreement = new Agreement()
    for (const [c, clip] of clips.entries()) {
      // The fast path must really be taken, or this compares sharp with itself.
      expect(decodeJpegTurbo(clip[0]!, options)).toBeDefined()
      let refTrack: TrackState | null = null
      let fastTrack: TrackState | null = null
      for (const [k, frame] of clip.entries()) {
        const r = await analyse(reference, frame, refTrack)
        const f = await analyse(fast, frame, fastTrack)
        refTrack = r.track
        fastTrack = f.track
        agreement.add(`clip ${c} frame ${k}`, r.analysis.faces, f.analysis.faces)
      }
    }
    console.log(`webcam clips: ${agreement}`)
    agreement.check()
  }, 300_000)

  it("agrees on the face-api demo photos, detector on each", async () => {
    const agreement = new Agreement()
    for (const path of await demoPhotos()) {
      const bytes = await readFile(path)
      expect(decodeJpegTurbo(bytes, options)).toBeDefined()
      const r = await analyse(reference, bytes, null)
      const f = await analyse(fast, bytes, null)
      agreement.add(path, r.analysis.faces, f.analysis.faces)
    }
    console.log(`demo photos: ${agreement}`)
    agreement.check()
  })
})
