/**
 * One question: how much CPU does turning a bench frame (640×480 JPEG) into the pixels the models read cost, with
 * sharp (the reference path) and with libjpeg-turbo on the calling thread (the engine's default)? Both run in this
 * one process over the same frames, alternating round by round, so a busy machine disturbs them alike; the ratio
 * of each round is the figure to quote.
 *
 *   npx tsx bench/decode.ts [--rounds 5]
 */
import { loadavg } from "node:os"
import sharp from "sharp"
import { loadClips } from "../src/bench/BenchFrames.ts"
import { type DecodeOptions, decodeImage, PixelBuffers } from "../src/inference/ImageOps.ts"
import { turboJpegAvailable } from "../src/inference/TurboJpeg.ts"

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const rounds = flag("rounds", 5)

// As in the inference workers.
sharp.concurrency(1)
sharp.cache(false)

if (!turboJpegAvailable()) throw new Error("libjpeg-turbo cannot be loaded on this platform: only sharp would run")
const frames = (await loadClips()).clips.flat()
const base = { maxPixels: 4096 * 4096, maxSide: 1920 }
const buffers = new PixelBuffers()
const lent: Array<Uint8Array> = []
const variants: Record<string, DecodeOptions> = {
  "sharp (reference)": { ...base, decoder: "sharp" },
  "turbo, fresh pixel buffer": { ...base, decoder: "turbo" },
  "turbo, reused pixel buffer (engine)": { ...base, decoder: "turbo", allocate: (n) => buffers.lend(n, lent) }
}

const cpuMs: Record<string, Array<number>> = {}
console.log(
  `${frames.length} frames, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`
)
for (let round = 0; round < rounds; round++) {
  for (const [name, options] of Object.entries(variants)) {
    for (const frame of frames.slice(0, 20)) {
      await decodeImage(frame, options)
      buffers.giveBack(lent)
    }
    const start = process.cpuUsage()
    for (const frame of frames) {
      await decodeImage(frame, options)
      buffers.giveBack(lent)
    }
    const used = process.cpuUsage(start)
    ;(cpuMs[name] ??= []).push((used.user + used.system) / 1000 / frames.length)
  }
}
const reference = cpuMs["sharp (reference)"]!
console.log("process CPU ms per frame, each round; × = sharp's CPU in the same round ÷ this")
for (const [name, ms] of Object.entries(cpuMs)) {
  const ratios = ms.map((m, r) => `${(reference[r]! / m).toFixed(1)}×`)
  console.log(`${name.padEnd(38)} ${ms.map((m) => m.toFixed(2)).join("  ")}   ${ratios.join(" ")}`)
}
