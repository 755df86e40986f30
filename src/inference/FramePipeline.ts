import { EMOTIONS, strongestExpression } from "../../schemas/Emotions.ts"
import type { EmotionScores, Face, FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import { makeAnchors } from "./Anchors.ts"
import { eyeAspect } from "./EyeAspectRatio.ts"
import { decodeDetections } from "./FaceDetector.ts"
import { type FaceRegion, landmarkBox, letterbox, regionFromBox, regionFromLandmarks } from "./FaceRegion.ts"
import {
  dedupeFaces,
  detectionDue,
  emotionDue,
  mergeRegions,
  detectionPhase,
  nextTrackState,
  type TrackedEmotion,
  type TrackState
} from "./FaceTracker.ts"
import { heatmapPng } from "./Heatmap.ts"
import {
  DecodeError,
  decodeImage,
  GrowableBuffer,
  grayFromCrop,
  PixelBuffers,
  type RgbImage,
  sampleRegion
} from "./ImageOps.ts"
import { Blazeface, EmotionNet, FaceMesh } from "./ModelSpec.ts"
import type { FaceModels } from "./OnnxModels.ts"
import type { FrameJob, FrameOutcome, WorkerSettings } from "./WorkerProtocol.ts"

/** Models, settings and reusable input buffers of one worker. */
export interface Pipeline {
  readonly models: FaceModels
  readonly settings: WorkerSettings
  readonly anchors: Float32Array
  readonly detectInput: GrowableBuffer
  readonly meshInput: GrowableBuffer
  /** The mesh's input for faces looked for again (see `analyzeWith`), so that the first call's crops stay intact. */
  readonly meshAgainInput: GrowableBuffer
  readonly emotionInput: GrowableBuffer
  /** Decoded frames' pixels, reused from task to task. */
  readonly pixels: PixelBuffers
}

export const makePipeline = (models: FaceModels, settings: WorkerSettings): Pipeline => ({
  models,
  settings,
  anchors: makeAnchors(),
  detectInput: new GrowableBuffer(Blazeface.inputSize * Blazeface.inputSize * 3),
  meshInput: new GrowableBuffer(FaceMesh.inputSize * FaceMesh.inputSize * 3),
  meshAgainInput: new GrowableBuffer(FaceMesh.inputSize * FaceMesh.inputSize * 3),
  emotionInput: new GrowableBuffer(EmotionNet.inputSize * EmotionNet.inputSize),
  pixels: new PixelBuffers()
})

const MESH = FaceMesh.inputSize
const MESH_ITEM = MESH * MESH * 3
const GRAY_ITEM = EmotionNet.inputSize * EmotionNet.inputSize

interface MeshedFace {
  readonly region: FaceRegion
  /** 468 landmarks as xyz in decoded-image pixels. */
  readonly points: Float32Array
  readonly score: number
  /** Where the face is expected next frame; also what faces are compared by. */
  readonly next: FaceRegion
  readonly gray: Float32Array | null
  /** The face's mesh crop, a view of the pipeline's input: valid until the task ends (a heat-map may draw on it). */
  readonly crop: Float32Array | null
  emotion: EmotionScores | null
  /** Frames since `emotion` was measured: 0 when measured on this frame, more when carried from the track. */
  readonly emotionAge: number
  camIndex: number
}

/** A region to run the mesh on; `from` is its index in the frame's tracking state, -1 for a new detection. */
interface MeshItem {
  readonly w: Work
  readonly region: FaceRegion
  readonly from: number
}

/**
 * The mesh's input for one model call, item by item, each crop sampled as it is added. The task's frames are all
 * decoded first: sampling a tracked frame's crops straight after decoding it, while its pixels were in the cache,
 * cost less in one thread (0.975–0.988×) but more in the engine, where two workers share the cores (bench/RESULTS.md,
 * "Way tried: second analyses, heat-maps and crops").
 */
class MeshBatch {
  readonly items: Array<MeshItem> = []
  constructor(private readonly buffer: GrowableBuffer) {}

  add(w: Work, region: FaceRegion, from: number): void {
    const k = this.items.length
    const t = now()
    sampleRegion(w.image, region, MESH, this.buffer.take(k + 1), k * MESH_ITEM, 1 / 255, 0)
    w.ms.mesh += now() - t
    this.items.push({ w, region, from })
  }

  get input(): Float32Array {
    return this.buffer.take(this.items.length)
  }
}

/** One decoded frame on its way through the stages. */
interface Work {
  readonly index: number
  readonly job: FrameJob
  readonly image: RgbImage
  /** Decoded pixels → source pixels. */
  readonly scale: number
  detectorRan: boolean
  faces: Array<MeshedFace>
  readonly ms: { decode: number; detect: number; mesh: number; emotion: number }
}

const now = () => performance.now()

/**
 * Analyses a batch of frames: decode each once, detect where tracking cannot carry the faces, then one
 * batched model call per stage across all frames. A frame that cannot be decoded is rejected on its own.
 */
export const analyzeFrames = async (
  p: Pipeline,
  bytes: ArrayBuffer,
  jobs: ReadonlyArray<FrameJob>
): Promise<Array<FrameOutcome>> => {
  // No decoded pixels outlive the task (heat-maps copy what they keep): its buffers go back at the end.
  const lent: Array<Uint8Array> = []
  try {
    return await analyzeWith(p, bytes, jobs, (n) => p.pixels.lend(n, lent))
  } finally {
    p.pixels.giveBack(lent)
  }
}

const analyzeWith = async (
  p: Pipeline,
  bytes: ArrayBuffer,
  jobs: ReadonlyArray<FrameJob>,
  allocate: (bytes: number) => Uint8Array
): Promise<Array<FrameOutcome>> => {
  const started = now()
  const decodeOptions = { ...p.settings, allocate }
  const outcomes: Array<FrameOutcome | undefined> = new Array(jobs.length)
  const work: Array<Work> = []
  // Tracking state is kept in source pixels; the decoded image may be smaller.
  const tracked = new Map<Work, Array<FaceRegion>>()
  const due: Array<Work> = []
  const batch = new MeshBatch(p.meshInput)
  for (let index = 0; index < jobs.length; index++) {
    const job = jobs[index]!
    if (p.settings.testHooks) {
      if (job.crash === true) process.exit(70)
      // Blocks this thread for good, as a stuck native call would; only stopping the worker ends it.
      if (job.hang === true) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
    }
    const t = now()
    try {
      const image = await decodeImage(new Uint8Array(bytes, job.offset, job.length), decodeOptions)
      const scale = image.sourceWidth / image.width
      const ms = { decode: now() - t, detect: 0, mesh: 0, emotion: 0 }
      const w: Work = { index, job, image, scale, detectorRan: false, faces: [], ms }
      work.push(w)
      const regions = (job.track?.faces ?? []).map((r) => scaleRegion(r, 1 / scale))
      tracked.set(w, regions)
      if (detectionDue(job.track, p.settings.detectEvery)) due.push(w)
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error
      outcomes[index] = { _tag: "Rejected", ...error.failure }
    }
  }

  for (const w of work) {
    if (due.includes(w)) continue
    tracked.get(w)!.forEach((region, k) => {
      batch.add(w, region, k)
    })
  }
  const detected = await detect(p, due)
  due.forEach((w, k) => {
    // Tracked regions come first in a frame's candidates (mergeRegions keeps them in front).
    const regions = tracked.get(w)!
    mergeRegions(regions, detected[k]!, p.settings.maxFaces).forEach((region, i) => {
      batch.add(w, region, i < regions.length ? i : -1)
    })
  })
  await mesh(p, batch)

  // A tracked face the mesh no longer confirms may just have moved fast: look again now, not N frames later.
  const lost = work.filter((w) => !due.includes(w) && w.faces.length < tracked.get(w)!.length)
  const again = await detect(p, lost)
  const second = new MeshBatch(p.meshAgainInput)
  lost.forEach((w, k) => {
    const kept = w.faces.map((f) => f.next)
    for (const region of mergeRegions(kept, again[k]!, p.settings.maxFaces).slice(kept.length)) {
      second.add(w, region, -1)
    }
  })
  await mesh(p, second)
  for (const w of work) w.faces = dedupeFaces(w.faces, p.settings.maxFaces)
  const cam = await classify(p, work)

  for (const w of work) outcomes[w.index] = finish(p, w, cam)
  // Work outside the stages (crops' bookkeeping, heat-maps, messaging) is shared evenly.
  const stages = work.reduce((sum, w) => sum + w.ms.decode + w.ms.detect + w.ms.mesh + w.ms.emotion, 0)
  const overhead = Math.max(0, now() - started - stages) / Math.max(1, jobs.length)
  return outcomes.map((outcome): FrameOutcome => {
    if (outcome === undefined) throw new Error("frame left without an outcome")
    if (outcome._tag !== "Analyzed") return outcome
    const t = outcome.analysis.timings
    const totalMs = round(t.decodeMs + t.detectMs + t.meshMs + t.emotionMs + overhead, 1e3)
    return { ...outcome, analysis: { ...outcome.analysis, timings: { ...t, totalMs } } }
  })
}

/** Runs the detector on every frame of `frames` in one batch; per frame, mesh regions best first. */
const detect = async (p: Pipeline, frames: ReadonlyArray<Work>): Promise<Array<Array<FaceRegion>>> => {
  if (frames.length === 0) return []
  const t = now()
  const size = Blazeface.inputSize
  const input = p.detectInput.take(frames.length)
  const views = frames.map((w) => letterbox(w.image.width, w.image.height))
  frames.forEach((w, k) => {
    sampleRegion(w.image, views[k]!, size, input, k * size * size * 3, 2 / 255, -1)
  })
  const { scores, boxes } = await p.models.detect(input, frames.length)
  const options = {
    minScore: p.settings.minDetectionScore,
    iouThreshold: 0.3,
    maxFaces: p.settings.maxFaces
  }
  const regions = frames.map((_, k) =>
    decodeDetections(scores, boxes, k, p.anchors, views[k]!, options).map((d) => {
      const [rx, ry, lx, ly] = d.keypoints as [number, number, number, number]
      return regionFromBox(d, [rx, ry, lx, ly], p.settings.rotate)
    })
  )
  const share = (now() - t) / frames.length
  for (const w of frames) {
    w.detectorRan = true
    w.ms.detect += share
  }
  return regions
}

/** Runs the face mesh on a batch's crops; faces it confirms are added to their frames. */
const mesh = async (p: Pipeline, batch: MeshBatch): Promise<void> => {
  const items = batch.items
  if (items.length === 0) return
  const t = now()
  const input = batch.input
  const out = await p.models.mesh(input, items.length)
  items.forEach(({ w, region, from }, k) => {
    const score = out.faceflag[k]!
    if (score < p.settings.minFaceScore) return
    const points = toImage(out.mesh.subarray(k * FaceMesh.meshValues, (k + 1) * FaceMesh.meshValues), region)
    // A face the mesh confirms in its tracked region is the same face: its emotion may be carried over.
    const carried: TrackedEmotion | null = w.job.affect && from >= 0 ? (w.job.track?.emotions?.[from] ?? null) : null
    // A carried emotion strong enough for the heat-map asked for is measured again: the map needs this frame's.
    const bar = w.job.heatmapFrom
    const measure =
      w.job.affect &&
      (w.job.heatmap ||
        emotionDue(carried, p.settings.emotionEvery) ||
        (bar !== undefined && strongestExpression(carried?.scores) >= bar))
    let gray: Float32Array | null = null
    if (measure) {
      gray = new Float32Array(GRAY_ITEM)
      grayFromCrop(input, k * MESH_ITEM, MESH, gray, 0, EmotionNet.inputSize)
    }
    const crop =
      measure && (w.job.heatmap || bar !== undefined) ? input.subarray(k * MESH_ITEM, (k + 1) * MESH_ITEM) : null
    const next = regionFromLandmarks(points, p.settings.rotate)
    const emotion = measure || carried === null ? null : carried.scores
    const emotionAge = measure || carried === null ? 0 : carried.age + 1
    w.faces.push({ region, points, score, next, gray, crop, emotion, emotionAge, camIndex: -1 })
  })
  const share = (now() - t) / items.length
  for (const { w } of items) w.ms.mesh += share
}

/** Mesh output (crop pixels) → decoded-image pixels. */
const toImage = (raw: Float32Array, region: FaceRegion): Float32Array => {
  const points = new Float32Array(raw.length)
  const step = region.size / MESH
  const cos = Math.cos(region.angle) * step
  const sin = Math.sin(region.angle) * step
  for (let i = 0; i < raw.length; i += 3) {
    const u = raw[i]! - MESH / 2
    const v = raw[i + 1]! - MESH / 2
    points[i] = region.cx + cos * u - sin * v
    points[i + 1] = region.cy + sin * u + cos * v
    points[i + 2] = raw[i + 2]! * step
  }
  return points
}

interface CamMaps {
  readonly cam: Float32Array
  readonly camHeight: number
  readonly camWidth: number
}

/** Emotion for every face of every frame with affect on, in one batch; returns the class-activation maps. */
const classify = async (p: Pipeline, work: ReadonlyArray<Work>): Promise<CamMaps | null> => {
  const faces = work.flatMap((w) => w.faces.filter((f) => f.gray !== null).map((f) => ({ w, f })))
  if (faces.length === 0) return null
  const t = now()
  const input = p.emotionInput.take(faces.length)
  faces.forEach(({ f }, k) => {
    input.set(f.gray!, k * GRAY_ITEM)
  })
  const { probs, cam, camHeight, camWidth } = await p.models.emotion(input, faces.length)
  faces.forEach(({ f }, k) => {
    const scores: Record<string, number> = {}
    EMOTIONS.forEach((label, c) => {
      scores[label] = round(probs[k * EMOTIONS.length + c]!, 1e4)
    })
    f.emotion = scores as EmotionScores
    f.camIndex = k
  })
  const share = (now() - t) / faces.length
  for (const { w } of faces) w.ms.emotion += share
  return { cam, camHeight, camWidth }
}

const round = (value: number, scale: number) => Math.round(value * scale) / scale

const scaleRegion = (r: FaceRegion, factor: number): FaceRegion => ({
  cx: r.cx * factor,
  cy: r.cy * factor,
  size: r.size * factor,
  angle: r.angle
})

/** Mesh indices pairs averaged into the six reported keypoints (eye centres, nose tip, mouth, face edges). */
const KEYPOINTS: ReadonlyArray<readonly [number, number]> = [
  [33, 133],
  [362, 263],
  [1, 1],
  [13, 14],
  [234, 234],
  [454, 454]
]

const toFace = (p: Pipeline, w: Work, f: MeshedFace): Face => {
  const { width, height } = w.image
  const b = landmarkBox(f.points)
  const x0 = Math.max(0, b.x)
  const y0 = Math.max(0, b.y)
  const x1 = Math.min(width, b.x + b.w)
  const y1 = Math.min(height, b.y + b.h)
  const s = w.scale
  const px = (v: number) => round(v * s, 10)
  const ear = eyeAspect(f.points)
  return {
    box: [px(x0), px(y0), px(Math.max(0, x1 - x0)), px(Math.max(0, y1 - y0))],
    score: round(f.score, 1e4),
    ear: { left: round(ear.left, 1e4), right: round(ear.right, 1e4), mean: round(ear.mean, 1e4) },
    eyesClosed: ear.mean < p.settings.eyesClosedThreshold,
    emotion: f.emotion,
    ...(f.emotionAge > 0 ? { emotionCarried: true } : {}),
    keypoints: KEYPOINTS.map(([a, b]): [number, number] => [
      px((f.points[a * 3]! + f.points[b * 3]!) / 2),
      px((f.points[a * 3 + 1]! + f.points[b * 3 + 1]!) / 2)
    ])
  }
}

const finish = (p: Pipeline, w: Work, cam: CamMaps | null): FrameOutcome => {
  const track: TrackState = nextTrackState(
    w.job.track,
    w.detectorRan,
    w.faces.map((f) => scaleRegion(f.next, w.scale)),
    w.job.affect
      ? w.faces.map((f): TrackedEmotion | null =>
          f.emotion === null ? null : { scores: f.emotion, age: f.emotionAge }
        )
      : undefined,
    detectionPhase(w.job.capturedAt, p.settings.detectEvery)
  )
  const analysis: FrameAnalysis = {
    seq: w.job.seq,
    capturedAt: w.job.capturedAt,
    width: w.image.sourceWidth,
    height: w.image.sourceHeight,
    faces: w.faces.map((f) => toFace(p, w, f)),
    timings: {
      decodeMs: round(w.ms.decode, 1e3),
      detectMs: round(w.ms.detect, 1e3),
      meshMs: round(w.ms.mesh, 1e3),
      emotionMs: round(w.ms.emotion, 1e3),
      totalMs: 0
    },
    detectorRan: w.detectorRan
  }
  const first = w.faces[0]
  if (cam === null || first === undefined || first.crop === null || first.emotion === null || first.camIndex < 0) {
    return { _tag: "Analyzed", analysis, track }
  }
  const from = w.job.heatmapFrom
  if (!w.job.heatmap && (from === undefined || strongestExpression(first.emotion) < from)) {
    return { _tag: "Analyzed", analysis, track }
  }
  const scores = first.emotion
  const top = EMOTIONS.reduce((best, label) => (scores[label] > scores[best] ? label : best), EMOTIONS[0])
  const plane = cam.camHeight * cam.camWidth
  const offset = (first.camIndex * EMOTIONS.length + EMOTIONS.indexOf(top)) * plane
  const png = heatmapPng(first.crop, MESH, cam.cam.subarray(offset, offset + plane), cam.camHeight, cam.camWidth)
  return { _tag: "Analyzed", analysis: { ...analysis, heatmap: { emotion: top, png } }, track }
}
