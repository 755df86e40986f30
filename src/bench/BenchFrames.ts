/**
 * Webcam-like test video made from the face-analysis package's demo photos: each face found in a group photo
 * becomes a 640×480 single-face clip with slow head motion (pan and zoom), so trackers and caches see what a
 * browser would send rather than one frozen image. Frames are prepared once and cached on disk; a clip is kept
 * only when our own detector sees exactly one face in it.
 */
import { createHash, randomBytes } from "node:crypto"
import { promises as fs } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import sharp from "sharp"
import * as InferencePool from "../inference/InferencePool.ts"

export const FRAME_WIDTH = 640
export const FRAME_HEIGHT = 480
/** Bump when the way clips are made changes: the cache key includes it. */
const RECIPE = 4

export interface ClipSet {
  /** clips[c][k]: JPEG bytes of frame k of clip c; frames loop smoothly (motion is periodic). */
  readonly clips: ReadonlyArray<ReadonlyArray<Uint8Array>>
  readonly dir: string
  /** False when the frames came from the cache. */
  readonly prepared: boolean
  readonly meanBytes: number
}

export interface ClipOptions {
  readonly dir?: string | undefined
  readonly framesPerClip?: number
  readonly maxClips?: number
}

interface Manifest {
  readonly key: string
  readonly clips: ReadonlyArray<{ readonly source: string; readonly frames: ReadonlyArray<string> }>
}

const here = path.dirname(fileURLToPath(import.meta.url))

/** The demo photos of @vladmandic/face-api (a dev dependency): read in place, never copied into the repo. */
export const demoPhotos = async (): Promise<Array<string>> => {
  let pkg: string
  try {
    pkg = createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")
  } catch {
    throw new Error(
      "the bench makes its frames from @vladmandic/face-api's demo photos, a dev dependency: install it (npm install without --omit=dev)"
    )
  }
  const demo = path.join(path.dirname(pkg), "demo")
  return (await fs.readdir(demo))
    .filter((n) => /^sample\d+\.jpg$/.test(n))
    .sort()
    .map((n) => path.join(demo, n))
}

const defaultDir = async (): Promise<string> => {
  const bench = path.resolve(here, "../../bench/out/frames")
  try {
    await fs.mkdir(bench, { recursive: true })
    await fs.access(bench, fs.constants?.W_OK ?? 2)
    return bench
  } catch {
    return path.join(tmpdir(), "candor-bench-frames")
  }
}

const cacheKey = async (photos: ReadonlyArray<string>, framesPerClip: number, maxClips: number) => {
  const hash = createHash("sha256").update(JSON.stringify({ RECIPE, framesPerClip, maxClips, sharp: sharp.versions }))
  for (const p of photos) hash.update(`${path.basename(p)}:${(await fs.stat(p)).size}`)
  return hash.digest("hex").slice(0, 16)
}

const readCached = async (dir: string, key: string): Promise<ClipSet | undefined> => {
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(dir, key, "manifest.json"), "utf8")) as Manifest
    if (manifest.key !== key || manifest.clips.length === 0) return undefined
    const clips = await Promise.all(
      manifest.clips.map((c) => Promise.all(c.frames.map((f) => fs.readFile(path.join(dir, key, f)))))
    )
    return { clips, dir: path.join(dir, key), prepared: false, meanBytes: meanFrameBytes(clips) }
  } catch {
    return undefined
  }
}

/** Mean bytes per frame over every clip. */
export const meanFrameBytes = (clips: ReadonlyArray<ReadonlyArray<Uint8Array>>) => {
  const all = clips.flat()
  return all.reduce((n, f) => n + f.byteLength, 0) / Math.max(1, all.length)
}

type Box = readonly [number, number, number, number]

/** Face boxes of a photo, from our detector on every frame (no tracking between unrelated photos). */
const facesOf = (pool: InferencePool.InferencePoolShape, image: Uint8Array, seq: number) =>
  pool
    .analyze({ seq, capturedAt: 0, image, affectEnabled: false })
    .pipe(Effect.map((a) => a.faces.filter((f) => f.score >= 0.5).map((f) => f.box as Box)))

/**
 * Frame k of a clip around `face`: the face fills about 40 % of the width, sits a little above the centre, and
 * drifts by 1–2 % in a loop of `n` frames — a seated candidate moving while talking. (Panning the whole frame
 * also moves the background, which a fixed webcam would not: larger drifts would defeat frame-difference caches
 * for the wrong reason.)
 */
const windowAt = (face: Box, k: number, n: number, imageW: number, imageH: number) => {
  const [x, y, w, h] = face
  const phase = (2 * Math.PI * k) / n
  const width = (w / 0.4) * (1 + 0.015 * Math.sin(phase + Math.PI / 3))
  const height = (width * FRAME_HEIGHT) / FRAME_WIDTH
  const cx = x + w / 2 + 0.015 * width * Math.sin(phase)
  const cy = y + h / 2 + 0.1 * height + 0.01 * height * Math.sin(2 * phase)
  const left = Math.round(cx - width / 2)
  const top = Math.round(cy - height / 2)
  const fits = left >= 0 && top >= 0 && left + width <= imageW && top + height <= imageH
  return fits ? { left, top, width: Math.round(width), height: Math.round(height) } : undefined
}

const prepare = async (
  photos: ReadonlyArray<string>,
  framesPerClip: number,
  maxClips: number
): Promise<Array<{ source: string; frames: Array<Buffer> }>> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const pool = yield* InferencePool.make({ workers: 1, detectEvery: 1, emotionEvery: 1, maxBatch: 4 })
        const clips: Array<{ source: string; frames: Array<Buffer> }> = []
        let seq = 0
        for (const photo of photos) {
          if (clips.length >= maxClips) break
          const bytes = yield* Effect.promise(() => fs.readFile(photo))
          const faces = yield* facesOf(pool, bytes, seq++).pipe(Effect.orElseSucceed(() => []))
          const { data, info } = yield* Effect.promise(() =>
            sharp(bytes).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true })
          )
          const raw = { raw: { width: info.width, height: info.height, channels: 3 as const } }
          for (const face of faces) {
            if (clips.length >= maxClips) break
            const windows = Array.from({ length: framesPerClip }, (_, k) =>
              windowAt(face, k, framesPerClip, info.width, info.height)
            )
            if (windows.some((w) => w === undefined)) continue
            const frames = yield* Effect.promise(() =>
              Promise.all(
                windows.map((w) =>
                  sharp(data, raw)
                    .extract(w!)
                    .resize(FRAME_WIDTH, FRAME_HEIGHT, { fit: "fill" })
                    .jpeg({ quality: 80 })
                    .toBuffer()
                )
              )
            )
            const checks = [0, 1, 2, 3].map((q) => frames[Math.floor((q * framesPerClip) / 4)]!)
            const counts = yield* Effect.forEach(checks, (f) => facesOf(pool, f, seq++), { concurrency: 4 }).pipe(
              Effect.orElseSucceed(() => [[], []])
            )
            if (counts.every((c) => c.length === 1)) clips.push({ source: path.basename(photo), frames })
          }
        }
        return clips
      })
    )
  )

/** The clips, from the cache when it matches, otherwise prepared now (a few seconds, once). */
export const loadClips = async (options: ClipOptions = {}): Promise<ClipSet> => {
  const framesPerClip = options.framesPerClip ?? 40
  const maxClips = options.maxClips ?? 12
  const photos = await demoPhotos()
  const dir = options.dir ?? (await defaultDir())
  const key = await cacheKey(photos, framesPerClip, maxClips)
  const cached = await readCached(dir, key)
  if (cached !== undefined) return cached
  const made = await prepare(photos, framesPerClip, maxClips)
  if (made.length === 0) throw new Error("no single-face clip could be made from the demo photos")
  // Written aside and renamed into place, so that a bench running beside this one never reads half a cache.
  const target = path.join(dir, key)
  const draft = `${target}.${process.pid}.${randomBytes(4).toString("hex")}`
  await fs.mkdir(draft, { recursive: true })
  const manifest: Manifest = {
    key,
    clips: made.map((c, i) => ({
      source: c.source,
      frames: c.frames.map((_, k) => `clip${String(i).padStart(2, "0")}-${String(k).padStart(3, "0")}.jpg`)
    }))
  }
  await Promise.all(
    made.flatMap((c, i) => c.frames.map((f, k) => fs.writeFile(path.join(draft, manifest.clips[i]!.frames[k]!), f)))
  )
  await fs.writeFile(path.join(draft, "manifest.json"), JSON.stringify(manifest, null, 2))
  await fs.rename(draft, target).catch(async () => {
    // Another run put the same frames there first: its copy stays. A broken copy (no manifest) is replaced.
    if ((await readCached(dir, key)) === undefined) {
      await fs.rm(target, { recursive: true, force: true })
      await fs.rename(draft, target)
    } else await fs.rm(draft, { recursive: true, force: true })
  })
  const clips = made.map((c) => c.frames)
  return { clips, dir: target, prepared: true, meanBytes: meanFrameBytes(clips) }
}
