/**
 * One question: what do smaller capture sizes cost in accuracy, and what do they save in CPU and bandwidth? The
 * bench's 640×480 clips are scaled down to 480×360 and 320×240 and re-encoded as JPEG at the candidate page's
 * quality (0.8, i.e. 80), as a browser drawing the camera onto a smaller canvas would send them. All sizes run
 * through the whole pipeline in this one process:
 *
 * - accuracy: every size against the 640×480 frames, tracking on (each size keeps its own tracking state, as a
 *   session would), emotion on every frame; and the face-api demo photos scaled by the same factors, detector on
 *   each. Same face count, box IoU after scaling back to the larger frame, top emotion, eye aspect ratio. A
 *   control, the 640×480 frames decoded and encoded again at the same quality, shows what a second JPEG
 *   generation alone changes;
 * - CPU: process CPU per frame at the engine's defaults (detector every 30th frame, emotion every 5th), the sizes
 *   alternating clip by clip within each round, so a busy machine disturbs them alike;
 * - bytes per frame.
 *
 *   npx tsx bench/smallframes.ts [--rounds 4] [--kernel linear]
 */
import { analyseOne as analyse, boxIoU, topEmotion } from "../src/bench/FaceAgreement.ts"
import { readFile } from "node:fs/promises"
import { loadavg } from "node:os"
import { basename } from "node:path"
import sharp from "sharp"
import type { Face, FrameAnalysis } from "../schemas/FrameAnalysis.ts"
import { demoPhotos, FRAME_HEIGHT, FRAME_WIDTH, loadClips } from "../src/bench/BenchFrames.ts"
import type { TrackState } from "../src/inference/FaceTracker.ts"
import { makePipeline } from "../src/inference/FramePipeline.ts"
import { DEFAULT_MODELS_DIR, ensureModels } from "../src/inference/ModelBuilder.ts"
import { loadOnnxModels } from "../src/inference/OnnxModels.ts"
import { turboJpegAvailable } from "../src/inference/TurboJpeg.ts"
import type { WorkerSettings } from "../src/inference/WorkerProtocol.ts"

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const rounds = flag("rounds", 4)
/** The scaling filter: "linear" (bilinear, as a canvas `drawImage` scales) or another sharp kernel, e.g. "lanczos3". */
const KERNELS = ["nearest", "linear", "cubic", "mitchell", "lanczos2", "lanczos3"] as const
const kernelArg = process.argv.indexOf("--kernel")
const kernel = KERNELS.find((k) => k === (kernelArg >= 0 ? process.argv[kernelArg + 1] : "linear"))
if (kernel === undefined) throw new Error(`--kernel: one of ${KERNELS.join(", ")}`)
/** The candidate page's `toBlob(…, "image/jpeg", 0.8)`. */
const JPEG_QUALITY = 80
interface Variant {
  readonly width: number
  readonly height: number
  /** Decoded and encoded again at the same size: what a second JPEG generation alone changes (the noise floor). */
  readonly control?: true
}
/** The first is the reference: the bench's frames as they are. */
const SIZES: ReadonlyArray<Variant> = [
  { width: FRAME_WIDTH, height: FRAME_HEIGHT },
  { width: FRAME_WIDTH, height: FRAME_HEIGHT, control: true },
  { width: 480, height: 360 },
  { width: 320, height: 240 }
]
const label = (v: Variant) => `${v.width}×${v.height}${v.control ? " re-encoded" : ""}`

// As in the inference workers.
sharp.concurrency(1)
sharp.cache(false)

/** Scaled (by default with a bilinear filter, as a canvas `drawImage` does), then encoded as the page encodes. */
const shrink = (bytes: Uint8Array, width: number, height: number, resize = true): Promise<Uint8Array> =>
  (resize ? sharp(bytes).resize(width, height, { fit: "fill", kernel }) : sharp(bytes))
    .jpeg({ quality: JPEG_QUALITY })
    .toBuffer()

const settings = (emotionEvery: number): WorkerSettings => ({
  modelsDir: DEFAULT_MODELS_DIR,
  maxPixels: 4096 * 4096,
  maxSide: 1920,
  decoder: "turbo",
  maxFaces: 10,
  detectEvery: 30,
  emotionEvery,
  eyesClosedThreshold: 0.2,
  minDetectionScore: 0.5,
  minFaceScore: 0.5,
  rotate: true,
  testHooks: false
})

interface Compared {
  /** Clip or photo. */
  readonly source: string
  readonly iou: number
  readonly ear: number
  readonly sameTop: boolean
}

/** A size's faces against the reference's, face by face; boxes scaled back to the reference by `factor`. */
class Agreement {
  readonly countMismatches: Array<string> = []
  readonly faces: Array<Compared> = []
  frames = 0
  constructor(readonly factor: number) {}

  add(source: string, ref: ReadonlyArray<Face>, got: ReadonlyArray<Face>): void {
    this.frames++
    if (ref.length !== got.length) {
      this.countMismatches.push(`${source}: ${ref.length} vs ${got.length}`)
      return
    }
    const f = this.factor
    const unused = got.map((g): Face => ({ ...g, box: [g.box[0] * f, g.box[1] * f, g.box[2] * f, g.box[3] * f] }))
    for (const r of ref) {
      const k = unused.reduce((best, g, i) => (boxIoU(r.box, g.box) > boxIoU(r.box, unused[best]!.box) ? i : best), 0)
      const g = unused.splice(k, 1)[0]!
      let ear = 0
      for (const side of ["left", "right", "mean"] as const) ear = Math.max(ear, Math.abs(r.ear[side] - g.ear[side]))
      this.faces.push({ source, iou: boxIoU(r.box, g.box), ear, sameTop: topEmotion(r) === topEmotion(g) })
    }
  }

  /** Sources with a face short of any bar (IoU < 0.9, EAR off by > 0.01, another top emotion). */
  short(): Set<string> {
    return new Set(this.faces.filter((c) => c.iou < 0.9 || c.ear > 0.01 || !c.sameTop).map((c) => c.source))
  }

  summary(leaveOut: ReadonlySet<string> = new Set()): string {
    const faces = this.faces.filter((c) => !leaveOut.has(c.source))
    const counts = this.countMismatches.filter((m) => !leaveOut.has(m.split(":")[0]!))
    const ious = faces.map((c) => c.iou).sort((a, b) => a - b)
    const ears = faces.map((c) => c.ear).sort((a, b) => a - b)
    const same = faces.filter((c) => c.sameTop).length
    const mean = ious.reduce((t, x) => t + x, 0) / Math.max(1, ious.length)
    const p95 = ears[Math.floor(0.95 * (ears.length - 1))] ?? Number.NaN
    const bySource = new Map<string, number>()
    for (const c of faces)
      if (c.iou < 0.9 || c.ear > 0.01 || !c.sameTop) bySource.set(c.source, (bySource.get(c.source) ?? 0) + 1)
    return [
      `${faces.length} faces`,
      counts.length === 0 ? "same count everywhere" : `COUNT DIFFERS ${counts.join("; ")}`,
      `IoU min ${(ious[0] ?? Number.NaN).toFixed(3)} mean ${mean.toFixed(3)} (${ious.filter((x) => x < 0.9).length} < 0.9)`,
      `top emotion ${same}/${faces.length} (${((100 * same) / Math.max(1, faces.length)).toFixed(1)} %)`,
      `EAR difference max ${(ears.at(-1) ?? Number.NaN).toFixed(4)} p95 ${p95.toFixed(4)} (${ears.filter((x) => x > 0.01).length} > 0.01)`,
      `short of a bar: ${[...bySource].map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`
    ].join("; ")
  }
}

if (!turboJpegAvailable())
  throw new Error("libjpeg-turbo cannot be loaded on this platform: the engine would use sharp")
await ensureModels()
const models = await loadOnnxModels(DEFAULT_MODELS_DIR)
const { clips } = await loadClips()
const sized: Array<Array<Array<Uint8Array>>> = []
for (const [s, v] of SIZES.entries()) {
  const make = (f: Uint8Array) => (s === 0 ? f : shrink(f, v.width, v.height, v.width !== FRAME_WIDTH))
  sized.push(await Promise.all(clips.map((clip) => Promise.all(clip.map(make)))))
}
const frameCount = clips.flat().length
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")
console.log(
  `${new Date().toISOString()}: ${clips.length} clips, ${frameCount} frames; scaled with ${kernel}; load average ${load()}`
)

// --- Bytes --------------------------------------------------------------------------------------------------------
console.log("\nbytes per frame (mean over the clips)")
const meanBytes = sized.map((set) => set.flat().reduce((n, f) => n + f.byteLength, 0) / frameCount)
SIZES.forEach((s, i) => {
  console.log(`  ${label(s).padEnd(20)} ${Math.round(meanBytes[i]!)}  (${(meanBytes[i]! / meanBytes[0]!).toFixed(2)}×)`)
})

// --- Accuracy -----------------------------------------------------------------------------------------------------
{
  const p = makePipeline(models, settings(1))
  console.log("\naccuracy against 640×480, webcam clips, tracking on, emotion every frame")
  const refs: Array<Array<ReadonlyArray<Face>>> = []
  for (const clip of sized[0]!) {
    let track: TrackState | null = null
    const faces: Array<ReadonlyArray<Face>> = []
    for (const frame of clip) {
      const out = await analyse(p, frame, track)
      track = out.track
      faces.push(out.analysis.faces)
    }
    refs.push(faces)
  }
  const clipAgreements = SIZES.slice(1).map((v) => new Agreement(FRAME_WIDTH / v.width))
  for (let s = 1; s < SIZES.length; s++) {
    const agreement = clipAgreements[s - 1]!
    for (const [c, clip] of sized[s]!.entries()) {
      let track: TrackState | null = null
      for (const [k, frame] of clip.entries()) {
        const out = await analyse(p, frame, track)
        track = out.track
        agreement.add(`clip ${c}`, refs[c]![k]!, out.analysis.faces)
      }
    }
  }
  for (const [i, agreement] of clipAgreements.entries())
    console.log(`  ${label(SIZES[i + 1]!).padEnd(20)} ${agreement.summary()}`)
  // Clips on which a second JPEG generation at the same size already falls short: the mesh is unstable there
  // (a profile, a hand over the face), so any change of pixels moves it. Shown again without them.
  const unstable = SIZES.slice(1).flatMap((v, i) => (v.control ? [...clipAgreements[i]!.short()] : []))
  console.log(`without the clips the re-encoded control falls short on (${unstable.join(", ") || "none"})`)
  for (const [i, agreement] of clipAgreements.entries())
    console.log(`  ${label(SIZES[i + 1]!).padEnd(20)} ${agreement.summary(new Set(unstable))}`)

  console.log("\nface-api demo photos scaled by the same factors, detector on each")
  const photos = await Promise.all((await demoPhotos()).map(async (path) => ({ path, bytes: await readFile(path) })))
  // One after another: a pipeline's input buffers serve one analysis at a time.
  const versions: Array<Array<FrameAnalysis>> = []
  for (const [s, v] of SIZES.entries()) {
    const factor = v.width / FRAME_WIDTH
    const analyses: Array<FrameAnalysis> = []
    for (const { bytes } of photos) {
      const { width = 0, height = 0 } = await sharp(bytes).metadata()
      const small =
        s === 0 ? bytes : await shrink(bytes, Math.round(width * factor), Math.round(height * factor), factor !== 1)
      analyses.push((await analyse(p, small, null)).analysis)
    }
    versions.push(analyses)
  }
  // Against the photo as it is, and against the photo re-encoded at full size (the same JPEG generation).
  for (const [r, name] of [
    [0, "the photo as it is"],
    [SIZES.findIndex((v) => v.control), "the photo re-encoded"]
  ] as const) {
    console.log(`against ${name}`)
    for (let s = 1; s < SIZES.length; s++) {
      if (s === r) continue
      const agreement = new Agreement(FRAME_WIDTH / SIZES[s]!.width)
      photos.forEach(({ path }, i) => {
        agreement.add(basename(path), versions[r]![i]!.faces, versions[s]![i]!.faces)
      })
      console.log(`  ${label(SIZES[s]!).padEnd(20)} ${agreement.summary()}`)
    }
  }
}

// --- CPU ----------------------------------------------------------------------------------------------------------
{
  const p = makePipeline(models, settings(5))
  const cpuMs: Array<Array<number>> = SIZES.map(() => [])
  const stageMs: Array<{ decode: number; detect: number; mesh: number; emotion: number }> = SIZES.map(() => ({
    decode: 0,
    detect: 0,
    mesh: 0,
    emotion: 0
  }))
  const runClip = async (s: number, c: number, record: boolean) => {
    let track: TrackState | null = null
    const start = process.cpuUsage()
    for (const frame of sized[s]![c]!) {
      const out = await analyse(p, frame, track)
      track = out.track
      if (record) {
        const t = out.analysis.timings
        const m = stageMs[s]!
        m.decode += t.decodeMs
        m.detect += t.detectMs
        m.mesh += t.meshMs
        m.emotion += t.emotionMs
      }
    }
    const used = process.cpuUsage(start)
    return (used.user + used.system) / 1000
  }
  // Warm-up: every size once on one clip.
  for (let s = 0; s < SIZES.length; s++) await runClip(s, 0, false)
  console.log(`\nCPU, engine defaults (detector every 30th frame, emotion every 5th); load average ${load()}`)
  for (let round = 0; round < rounds; round++) {
    const totals = SIZES.map(() => 0)
    for (let c = 0; c < clips.length; c++) {
      // Sizes alternate clip by clip, in an order that rotates, so none is always first after a pause.
      for (let j = 0; j < SIZES.length; j++) {
        const s = (j + c + round) % SIZES.length
        totals[s]! += await runClip(s, c, true)
      }
    }
    for (const [s, t] of totals.entries()) cpuMs[s]!.push(t / frameCount)
  }
  console.log(`process CPU ms per frame, each round; ratio = this ÷ 640×480 in the same round; load average ${load()}`)
  SIZES.forEach((size, s) => {
    const ms = cpuMs[s]!
    const ratios = ms.map((m, r) => (m / cpuMs[0]![r]!).toFixed(2))
    console.log(`  ${label(size).padEnd(20)} ${ms.map((m) => m.toFixed(2)).join("  ")}   ratio ${ratios.join(" ")}`)
  })
  console.log("stage wall ms per frame (pipeline's own timings, all rounds)")
  SIZES.forEach((size, s) => {
    const m = stageMs[s]!
    const n = frameCount * rounds
    const f = (x: number) => (x / n).toFixed(2)
    console.log(
      `  ${label(size).padEnd(20)} decode ${f(m.decode)}  detect ${f(m.detect)}  mesh ${f(m.mesh)}  emotion ${f(m.emotion)}`
    )
  })
}
await models.release()
