import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import sharp from "sharp"
import { DEFAULT_MODELS_DIR } from "../../src/inference/ModelBuilder.ts"
import type { WorkerSettings } from "../../src/inference/WorkerProtocol.ts"

/** A worker's settings as the pool's defaults give them (the detector every 10 frames, emotion on every one). */
export const workerSettings = (overrides: Partial<WorkerSettings> = {}): WorkerSettings => ({
  modelsDir: DEFAULT_MODELS_DIR,
  maxPixels: 4096 * 4096,
  maxSide: 1920,
  decoder: "turbo",
  maxFaces: 10,
  detectEvery: 10,
  emotionEvery: 1,
  eyesClosedThreshold: 0.2,
  minDetectionScore: 0.5,
  minFaceScore: 0.5,
  rotate: true,
  testHooks: false,
  ...overrides
})

/** Demo photos shipped with @vladmandic/face-api; read in place, never copied into the repository. */
export const demoDir = join(
  dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")),
  "demo"
)

/** Three faces; the one on the right laughs. */
export const sample1 = join(demoDir, "sample1.jpg")

/** The laughing face of sample1, cut square (source pixels). */
const laughing = { left: 1420, top: 160, width: 320, height: 320 }

/** A 640×480 JPEG with one face (the right side of sample1). */
export const singleFaceJpeg = (): Promise<Buffer> =>
  sharp(sample1)
    .extract({ left: 1120, top: 0, width: 800, height: 600 })
    .resize(640, 480)
    .jpeg({ quality: 85 })
    .toBuffer()

/** A 5×4 grid of the same face, `tile` pixels each. */
export const twentyFacesJpeg = async (tile = 200): Promise<Buffer> => {
  const face = await sharp(sample1).extract(laughing).resize(tile).toBuffer()
  const tiles = Array.from({ length: 20 }, (_, i) => ({
    input: face,
    left: (i % 5) * tile,
    top: Math.floor(i / 5) * tile
  }))
  return sharp({ create: { width: 5 * tile, height: 4 * tile, channels: 3, background: "#333333" } })
    .composite(tiles)
    .jpeg()
    .toBuffer()
}

/** A plain gray picture without any face. */
export const blankJpeg = (width = 640, height = 480): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: "#7f7f7f" } })
    .jpeg()
    .toBuffer()

/**
 * A small valid JPEG whose frame header claims 10000×10000 pixels: what a decompression bomb looks like to a
 * decoder, without spending seconds encoding a real one.
 */
export const hugeHeaderJpeg = async (): Promise<Buffer> => {
  const jpeg = Buffer.from(await blankJpeg(64, 64))
  for (let i = 2; i < jpeg.length - 9; i++) {
    if (jpeg[i] === 0xff && (jpeg[i + 1] === 0xc0 || jpeg[i + 1] === 0xc2)) {
      jpeg.writeUInt16BE(10_000, i + 5)
      jpeg.writeUInt16BE(10_000, i + 7)
      return jpeg
    }
  }
  throw new Error("no SOF marker")
}
