/**
 * One question: does a converter change make the models faster, and do its outputs still match? Times two builds
 * of the same models (a directory with the earlier build, and models/) alternating call by call in one process,
 * batch 1, with the pool's session settings, so load from other work on the machine hits both alike. Per model:
 * median wall ms per call, mean CPU ms per call (the process's CPU time, which other work cannot inflate), the
 * after ÷ before ratios, and the largest output difference between the builds on the inputs timed.
 *
 *   npx tsx bench/graphs.ts --before DIR [--after models] [--calls 2000] [--only facemesh,emotion]
 */
import * as path from "node:path"
import * as ort from "onnxruntime-node"
import { DEFAULT_MODELS_DIR } from "../src/inference/ModelBuilder.ts"
import { Blazeface, EmotionNet, FaceMesh, Iris } from "../src/inference/ModelSpec.ts"
import { sessionOptions } from "../src/inference/OnnxModels.ts"

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const before = arg("--before")
if (before === undefined) {
  process.stderr.write("usage: npx tsx bench/graphs.ts --before DIR [--after DIR] [--calls N] [--only LIST]\n")
  process.exit(2)
}
const after = arg("--after") ?? DEFAULT_MODELS_DIR
const CALLS = Number(arg("--calls") ?? 2000)
/** The detector is ≈ 10× the others; fewer calls keep its share of the run similar. */
const CALLS_SCALE: Record<string, number> = { blazeface: 0.2 }
const only = arg("--only")?.split(",")
const MODELS = [FaceMesh, EmotionNet, Blazeface, Iris].filter(
  (m) => only === undefined || only.includes(m.file.replace(".onnx", ""))
)

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length

/** Deterministic inputs in the models' ranges, different per item so no cache is warmer for one build. */
const inputs = (shape: ReadonlyArray<number>, count: number): ReadonlyArray<Float32Array> => {
  const n = shape.reduce((p, q) => p * q, 1)
  return Array.from({ length: count }, (_, k) =>
    Float32Array.from({ length: n }, (_, i) => 0.5 + 0.45 * Math.sin(i * 0.0013 + k * 0.7) * Math.cos(i * 0.00007))
  )
}

interface Timed {
  readonly wall: Array<number>
  readonly cpu: Array<number>
}

const started = new Date()
const load = (await import("node:os")).loadavg()
process.stdout.write(
  `${started.toISOString()} load average ${load.map((l) => l.toFixed(2)).join(" ")}, ${CALLS} calls per model (detector ×0.2), ort ${ort.env.versions.common}\n`
)
process.stdout.write(
  "model      before ms  after ms  ratio  | before cpu  after cpu  ratio | largest difference / scale\n"
)
for (const spec of MODELS) {
  const builds = await Promise.all(
    [before, after].map((dir) => ort.InferenceSession.create(path.join(dir, spec.file), sessionOptions))
  )
  // Only the outputs both builds have are fetched and compared: a build that drops an output is timed as the engine
  // runs the other, fetching just what it reads.
  const fetches = builds[0]!.outputNames.filter((name) => builds[1]!.outputNames.includes(name))
  const feeds = inputs(spec.inputShape, 8).map((data) => ({
    [spec.input]: new ort.Tensor("float32", data, [1, ...spec.inputShape])
  }))
  // Same inputs through both builds: every output compared against its own scale.
  let worst = 0
  for (const feed of feeds) {
    const [a, b] = await Promise.all(builds.map((s) => s.run(feed, fetches)))
    for (const name of Object.keys(a!)) {
      const x = a![name]!.data as Float32Array
      const y = b![name]!.data as Float32Array
      let scale = 0
      let diff = 0
      for (let i = 0; i < x.length; i++) {
        scale = Math.max(scale, Math.abs(x[i]!))
        diff = Math.max(diff, Math.abs(x[i]! - y[i]!))
      }
      worst = Math.max(worst, scale > 0 ? diff / scale : diff)
    }
  }
  for (const s of builds) for (let i = 0; i < 20; i++) await s.run(feeds[i % feeds.length]!, fetches)
  const timed: Array<Timed> = builds.map(() => ({ wall: [], cpu: [] }))
  const calls = Math.round(CALLS * (CALLS_SCALE[spec.file.replace(".onnx", "")] ?? 1))
  for (let i = 0; i < calls; i++) {
    for (let k = 0; k < 2; k++) {
      const which = (i + k) % 2
      const feed = feeds[i % feeds.length]!
      const cpu = process.cpuUsage()
      const t = performance.now()
      await builds[which]!.run(feed, fetches)
      timed[which]!.wall.push(performance.now() - t)
      const used = process.cpuUsage(cpu)
      timed[which]!.cpu.push((used.user + used.system) / 1000)
    }
  }
  const [a, b] = timed as [Timed, Timed]
  const wallA = median(a.wall)
  const wallB = median(b.wall)
  const cpuA = mean(a.cpu)
  const cpuB = mean(b.cpu)
  process.stdout.write(
    `${spec.file.replace(".onnx", "").padEnd(10)} ${wallA.toFixed(3).padStart(9)} ${wallB.toFixed(3).padStart(9)} ${(wallB / wallA).toFixed(2).padStart(6)}  | ${cpuA.toFixed(3).padStart(10)} ${cpuB.toFixed(3).padStart(10)} ${(cpuB / cpuA).toFixed(2).padStart(6)} | ${worst.toExponential(2)}\n`
  )
  await Promise.all(builds.map((s) => s.release()))
}
