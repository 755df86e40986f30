/**
 * Frames per second through the InferencePool, in process, for single-face 640×480 JPEGs.
 * One question per row: what do tracking (detector every N frames instead of every frame), the emotion model every
 * N frames, and batching (up to `maxBatch` frames per worker task instead of 1) buy?
 *
 *   npx tsx bench/pipeline.ts [--workers 2] [--clients 16] [--seconds 5] [--sweep] [--rows 2,5,2,5]
 *
 * `--sweep` instead tries maxBatch × maxDelayMs combinations (used to choose the pool's defaults).
 * Results are printed as a table and written to bench/out/pipeline.json.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { availableParallelism, loadavg } from "node:os"
import { dirname, join } from "node:path"
import { Effect } from "effect"
import sharp from "sharp"
import { type InferencePoolOptions, make } from "../src/inference/InferencePool.ts"
import { ensureModels } from "../src/inference/ModelBuilder.ts"
import type { HistogramSnapshot, PoolMetricsSnapshot } from "../src/inference/PoolMetrics.ts"

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const workers = flag("workers", 2)
const clients = flag("clients", 16)
const seconds = flag("seconds", 5)
const warmupSeconds = 1
/** `--rows 2,3`: only these rows (0-based), in this order, repeats allowed. */
const rowsArg = process.argv.indexOf("--rows")
const only = rowsArg >= 0 ? process.argv[rowsArg + 1]!.split(",").map(Number) : undefined

/** One face, 640×480: the right-hand side of a demo photo from @vladmandic/face-api (read in place). */
const demo = join(dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")), "demo")
const jpeg = await sharp(join(demo, "sample1.jpg"))
  .extract({ left: 1120, top: 0, width: 800, height: 600 })
  .resize(640, 480)
  .jpeg({ quality: 85 })
  .toBuffer()

interface Row {
  readonly name: string
  readonly options: Partial<InferencePoolOptions>
}

const all: ReadonlyArray<Row> = process.argv.includes("--sweep")
  ? [1, 4, 8, 16].flatMap((maxBatch) =>
      [0, 2, 5].map((maxDelayMs) => ({
        name: `batch ${maxBatch}, delay ${maxDelayMs} ms`,
        options: { maxBatch, maxDelayMs, detectEvery: 10 }
      }))
    )
  : [
      { name: "detect every frame, no batching", options: { detectEvery: 1, emotionEvery: 1, maxBatch: 1 } },
      { name: "detect every frame, batching", options: { detectEvery: 1, emotionEvery: 1 } },
      { name: "detect every 10, emotion every frame", options: { detectEvery: 10, emotionEvery: 1 } },
      { name: "detect every 10, emotion every 5", options: { detectEvery: 10, emotionEvery: 5 } },
      { name: "detect every 30, emotion every 5", options: { detectEvery: 30, emotionEvery: 5 } },
      { name: "defaults", options: {} }
    ]
// Repeating rows (`--rows 2,3,2,3`) interleaves settings, so drifting load on a shared machine hits both alike.
const rows = only === undefined ? all : only.map((i) => all[i]!)

const delta = (a: HistogramSnapshot, b: HistogramSnapshot) => ({ sum: b.sum - a.sum, count: b.count - a.count })
const mean = (h: { sum: number; count: number }) => (h.count > 0 ? h.sum / h.count : 0)

/** Upper bound of the bucket holding the q-quantile (coarse, from the histogram). */
const quantile = (a: HistogramSnapshot, b: HistogramSnapshot, q: number): number => {
  const total = b.count - a.count
  const bucket = b.buckets.find((x, i) => x.count - a.buckets[i]!.count >= q * total)
  return bucket?.le ?? Number.NaN
}

const measure = (row: Row) =>
  Effect.scoped(
    Effect.gen(function* () {
      const pool = yield* make({ workers, ...row.options })
      let seq = 0
      let errors = 0
      const load = (until: number, key: string) =>
        Effect.gen(function* () {
          while (performance.now() < until) {
            const frame = { sessionKey: key, seq: seq++, capturedAt: Date.now(), image: jpeg, affectEnabled: true }
            yield* pool.analyze(frame).pipe(Effect.catch(() => Effect.sync(() => void errors++)))
          }
        })
      const run = (s: number) => {
        const until = performance.now() + s * 1000
        return Effect.forEach(
          Array.from({ length: clients }, (_, i) => `session-${i}`),
          (key) => load(until, key),
          { concurrency: "unbounded", discard: true }
        )
      }
      yield* run(warmupSeconds)
      const before: PoolMetricsSnapshot = yield* pool.metrics
      const started = performance.now()
      const cpu = process.cpuUsage()
      yield* run(seconds)
      const elapsed = (performance.now() - started) / 1000
      // CPU of every thread of the process (workers included): a cost per frame that other load on the machine
      // disturbs far less than wall-clock throughput.
      const used = process.cpuUsage(cpu)
      const after: PoolMetricsSnapshot = yield* pool.metrics
      const frames = after.frames.analyzed - before.frames.analyzed
      const stage = (k: keyof PoolMetricsSnapshot["stageMs"]) => mean(delta(before.stageMs[k], after.stageMs[k]))
      return {
        name: row.name,
        options: row.options,
        framesPerSecond: frames / elapsed,
        cpuMsPerFrame: (used.user + used.system) / 1000 / Math.max(1, frames),
        /** Cores this process actually got; below `workers` when other jobs share the machine. */
        coresUsed: (used.user + used.system) / 1e6 / elapsed,
        meanBatch: mean(delta(before.batchSize, after.batchSize)),
        detectorShare: (after.frames.detected - before.frames.detected) / Math.max(1, frames),
        latencyMsMean: mean(delta(before.latencyMs, after.latencyMs)),
        latencyMsP95Bucket: quantile(before.latencyMs, after.latencyMs, 0.95),
        stageMs: {
          decode: stage("decode"),
          detect: stage("detect"),
          mesh: stage("mesh"),
          emotion: stage("emotion"),
          total: stage("total")
        },
        errors
      }
    })
  )

await ensureModels()
console.log(
  `${workers} workers, ${clients} closed-loop clients, ${seconds} s per row, ${jpeg.length} byte JPEG 640×480, ` +
    `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores before start`
)
const results = []
for (const row of rows) {
  const r = await Effect.runPromise(measure(row))
  results.push(r)
  const s = r.stageMs
  console.log(
    [
      r.name.padEnd(42),
      `${r.framesPerSecond.toFixed(1).padStart(6)} fps`,
      `cpu ${r.cpuMsPerFrame.toFixed(2)} ms/frame on ${r.coresUsed.toFixed(2)} cores`,
      `(≈ ${((workers * 1000) / r.cpuMsPerFrame).toFixed(0)} fps on ${workers} free cores)`,
      `batch ${r.meanBatch.toFixed(1).padStart(4)}`,
      `detector ${(r.detectorShare * 100).toFixed(0).padStart(3)} %`,
      `latency ${r.latencyMsMean.toFixed(1).padStart(5)} ms (p95 ≤ ${r.latencyMsP95Bucket})`,
      `ms/frame decode ${s.decode.toFixed(2)} detect ${s.detect.toFixed(2)} mesh ${s.mesh.toFixed(2)} emotion ${s.emotion.toFixed(2)} total ${s.total.toFixed(2)}`,
      r.errors > 0 ? `errors ${r.errors}` : ""
    ].join("  ")
  )
}
await mkdir(new URL("./out/", import.meta.url), { recursive: true })
await writeFile(
  new URL("./out/pipeline.json", import.meta.url),
  JSON.stringify({ workers, clients, seconds, results }, null, 2)
)
