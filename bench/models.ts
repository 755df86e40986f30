/**
 * One question: how long does each converted model take per call and per item on onnxruntime-node
 * with the pool's session settings (one intra-op thread, sequential), at batch 1, 4, 8 and 16?
 * Prints a table, the model-only frame bound for two cores, and writes bench/out/models.json.
 *
 *   npx tsx bench/models.ts [--budget-ms 300] [--cores 2]
 */
import { promises as fs } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as ort from "onnxruntime-node"
import { DEFAULT_MODELS_DIR, ensureModels } from "../src/inference/ModelBuilder.ts"
import { Blazeface, EmotionNet, FaceMesh, Iris } from "../src/inference/ModelSpec.ts"

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name)
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback
}

const BUDGET_MS = flag("--budget-ms", 300)
const CORES = flag("--cores", 2)
const BATCHES = [1, 4, 8, 16]
const MODELS = [Blazeface, FaceMesh, EmotionNet, Iris]

const median = (xs: Array<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

await ensureModels()
const rows: Array<{ model: string; batch: number; msPerCall: number; msPerItem: number; runs: number }> = []
for (const spec of MODELS) {
  const session = await ort.InferenceSession.create(path.join(DEFAULT_MODELS_DIR, spec.file), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all"
  })
  const item = spec.inputShape.reduce((p: number, q: number) => p * q, 1)
  for (const batch of BATCHES) {
    const data = Float32Array.from({ length: item * batch }, (_, i) => Math.sin(i * 0.001))
    const feeds = { [spec.input]: new ort.Tensor("float32", data, [batch, ...spec.inputShape]) }
    for (let i = 0; i < 3; i++) await session.run(feeds)
    const times: Array<number> = []
    const until = performance.now() + BUDGET_MS
    while (performance.now() < until || times.length < 5) {
      const t = performance.now()
      await session.run(feeds)
      times.push(performance.now() - t)
    }
    const ms = median(times)
    rows.push({
      model: spec.file.replace(".onnx", ""),
      batch,
      msPerCall: ms,
      msPerItem: ms / batch,
      runs: times.length
    })
  }
  await session.release()
}

const table = rows.map(
  (r) =>
    `${r.model.padEnd(10)} b=${String(r.batch).padEnd(3)} ${r.msPerCall.toFixed(2).padStart(8)} ms/call ${r.msPerItem.toFixed(2).padStart(7)} ms/item  (${r.runs} runs)`
)
process.stdout.write(`${table.join("\n")}\n`)

const perItem = (model: string, batch: number) => rows.find((r) => r.model === model && r.batch === batch)!.msPerItem
const bounds = BATCHES.map((batch) => {
  const ms = perItem("blazeface", batch) + perItem("facemesh", batch) + perItem("emotion", batch)
  return { batch, msPerFrame: ms, framesPerSecond: (1000 / ms) * CORES }
})
for (const b of bounds) {
  process.stdout.write(
    `model-only bound b=${b.batch}: blazeface+facemesh+emotion ${b.msPerFrame.toFixed(2)} ms/frame → ${b.framesPerSecond.toFixed(0)} frames/s on ${CORES} cores\n`
  )
}

const outDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "out")
await fs.mkdir(outDir, { recursive: true })
await fs.writeFile(
  path.join(outDir, "models.json"),
  `${JSON.stringify({ ort: ort.env.versions, budgetMs: BUDGET_MS, cores: CORES, rows, bounds }, null, 2)}\n`
)
