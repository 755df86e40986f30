/**
 * The converted models against the original TFJS graphs (tfjs + wasm backend, offline) on real face
 * photos: every output within 1e-3 of its scale, and the same emotion on every face.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs"
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm"
import { existsSync, promises as fs } from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import * as ort from "onnxruntime-node"
import sharp from "sharp"
import { buildModels, findSourceDir } from "../../src/inference/ModelBuilder.ts"
import { Blazeface, EmotionNet, FaceMesh, Iris } from "../../src/inference/ModelSpec.ts"

const require = createRequire(import.meta.url)
const photoDir = path.join(path.dirname(require.resolve("@vladmandic/face-api/package.json")), "demo")
const PHOTOS = ["sample1.jpg", "sample2.jpg", "sample3.jpg", "sample6.jpg"]
const TOLERANCE = 1e-3

interface Reference {
  /** TF tensors behind each ONNX output; several are joined on axis 1, `nchw` transposes an image tensor. */
  readonly outputs: Record<string, { readonly nodes: ReadonlyArray<string>; readonly nchw?: boolean }>
}

// Chosen by reading the graphs (shapes in the signatures), independently of the converter's recipes.
const REFERENCES: Record<string, Reference> = {
  blazeface: {
    outputs: { scores: { nodes: ["Identity", "Identity_1"] }, boxes: { nodes: ["Identity_2", "Identity_3"] } }
  },
  facemesh: {
    outputs: { mesh: { nodes: ["Identity_2"] }, faceflag: { nodes: ["Identity_1"] } }
  },
  emotion: {
    outputs: {
      probs: { nodes: ["Identity"] },
      cam: { nodes: ["StatefulPartitionedCall/model_1/conv2d_5/BiasAdd"], nchw: true }
    }
  },
  iris: { outputs: { landmarks: { nodes: ["Identity"] } } }
}

interface Pair {
  readonly onnx: ort.InferenceSession
  readonly tfjs: tf.GraphModel
}

const pairs = new Map<string, Pair>()
const worst = new Map<string, { ratio: number; error: number; scale: number }>()
const seen: Array<string> = []
let outDir = ""

const loadTfjs = async (name: string): Promise<tf.GraphModel> => {
  const dir = path.join(findSourceDir()!, "models")
  const json = JSON.parse(await fs.readFile(path.join(dir, `${name}.json`), "utf8"))
  const bin = await fs.readFile(path.join(dir, `${name}.bin`))
  // Node's fetch has no file: URLs; hand the artifacts to tfjs directly.
  return tf.loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g: { weights: Array<tf.io.WeightsManifestEntry> }) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      format: json.format
    })
  })
}

beforeAll(async () => {
  setWasmPaths(`${path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"))}/`)
  await tf.setBackend("wasm")
  await tf.ready()
  outDir = await fs.mkdtemp(path.join(os.tmpdir(), "candor-parity-"))
  await buildModels({ outDir })
  for (const name of Object.keys(REFERENCES)) {
    const onnx = await ort.InferenceSession.create(path.join(outDir, `${name}.onnx`), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1
    })
    pairs.set(name, { onnx, tfjs: await loadTfjs(name) })
  }
})

afterAll(async () => {
  for (const [name, w] of worst) {
    const line = `${w.ratio.toExponential(2)} (abs ${w.error.toExponential(2)}, scale ${w.scale.toPrecision(3)})`
    process.stdout.write(`parity ${name}: worst error / scale = ${line}\n`)
  }
  process.stdout.write(`parity faces: ${seen.join("; ")}\n`)
  if (outDir !== "" && existsSync(outDir)) await fs.rm(outDir, { recursive: true, force: true })
})

type Outputs = Record<string, { readonly data: Float32Array; readonly dims: ReadonlyArray<number> }>

/** Runs both models on one NHWC input, asserts every output within tolerance, returns the ONNX outputs. */
const compare = async (name: string, input: Float32Array, shape: ReadonlyArray<number>): Promise<Outputs> => {
  const pair = pairs.get(name)!
  const result = await pair.onnx.run({ input: new ort.Tensor("float32", input, [...shape]) })
  const outputs: Outputs = {}
  for (const [output, ref] of Object.entries(REFERENCES[name]!.outputs)) {
    const expected = tf.tidy(() => {
      const raw = pair.tfjs.execute(tf.tensor(input, [...shape]), [...ref.nodes])
      const parts = Array.isArray(raw) ? raw : [raw]
      const joined = parts.length > 1 ? tf.concat(parts, 1) : parts[0]!
      return (ref.nchw === true ? tf.transpose(joined, [0, 3, 1, 2]) : joined).dataSync() as Float32Array
    })
    const actual = result[output]!.data as Float32Array
    expect(actual.length).toBe(expected.length)
    let scale = 0
    let error = 0
    for (let i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]!))
      error = Math.max(error, Math.abs(expected[i]! - actual[i]!))
    }
    expect(scale).toBeGreaterThan(0)
    expect(error).toBeLessThanOrEqual(TOLERANCE * scale)
    const key = `${name}.${output}`
    if ((worst.get(key)?.ratio ?? -1) < error / scale) worst.set(key, { ratio: error / scale, error, scale })
    outputs[output] = { data: actual, dims: result[output]!.dims }
  }
  return outputs
}

interface Photo {
  readonly rgb: Buffer
  readonly width: number
  readonly height: number
}

const decode = async (file: string): Promise<Photo> => {
  const { data, info } = await sharp(path.join(photoDir, file))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { rgb: data, width: info.width, height: info.height }
}

/** Square crop (zero outside the photo) resized to `size`, as floats mapped by `map`. */
const crop = async (
  photo: Photo,
  box: { x: number; y: number; size: number },
  size: number,
  map: (r: number, g: number, b: number) => ReadonlyArray<number>
): Promise<Float32Array> => {
  const side = Math.max(2, Math.round(box.size))
  const left = Math.round(box.x)
  const top = Math.round(box.y)
  const region = Buffer.alloc(side * side * 3)
  for (let y = 0; y < side; y++) {
    const sy = top + y
    if (sy < 0 || sy >= photo.height) continue
    for (let x = 0; x < side; x++) {
      const sx = left + x
      if (sx < 0 || sx >= photo.width) continue
      photo.rgb.copy(region, (y * side + x) * 3, (sy * photo.width + sx) * 3, (sy * photo.width + sx) * 3 + 3)
    }
  }
  const pixels = await sharp(region, { raw: { width: side, height: side, channels: 3 } })
    .resize(size, size, { fit: "fill" })
    .raw()
    .toBuffer()
  const out: Array<number> = []
  for (let i = 0; i < size * size; i++)
    out.push(...map(pixels[i * 3]! / 255, pixels[i * 3 + 1]! / 255, pixels[i * 3 + 2]! / 255))
  return Float32Array.from(out)
}

const anchors = (): ReadonlyArray<[number, number]> => {
  const list: Array<[number, number]> = []
  for (const { grid, perCell } of Blazeface.anchorGrids) {
    for (let y = 0; y < grid; y++)
      for (let x = 0; x < grid; x++) for (let k = 0; k < perCell; k++) list.push([(x + 0.5) / grid, (y + 0.5) / grid])
  }
  return list
}

/** Faces above 0.75 confidence, strongest first, skipping boxes whose centre lies inside a stronger one. */
const faces = (photo: Photo, out: Outputs): ReadonlyArray<{ x: number; y: number; size: number }> => {
  const side = Math.max(photo.width, photo.height)
  const size = Blazeface.inputSize
  const found: Array<{ score: number; cx: number; cy: number; w: number }> = []
  anchors().forEach(([ax, ay], i) => {
    const score = 1 / (1 + Math.exp(-out["scores"]!.data[i]!))
    if (score < 0.75) return
    const b = out["boxes"]!.data.subarray(i * Blazeface.boxValues, i * Blazeface.boxValues + 4)
    found.push({ score, cx: (ax + b[0]! / size) * side, cy: (ay + b[1]! / size) * side, w: (b[2]! / size) * side })
  })
  found.sort((a, b) => b.score - a.score)
  const kept: typeof found = []
  for (const f of found) {
    if (kept.every((k) => Math.abs(k.cx - f.cx) > k.w / 2 || Math.abs(k.cy - f.cy) > k.w / 2)) kept.push(f)
  }
  return kept.map((f) => ({ x: f.cx - f.w / 2, y: f.cy - f.w / 2, size: f.w }))
}

describe("converted models match the TFJS originals", () => {
  for (const file of PHOTOS) {
    it(`on ${file}`, async () => {
      const photo = await decode(file)
      const side = Math.max(photo.width, photo.height)
      // Letterbox: the detector sees the photo undistorted in the top-left of a square.
      const detectorInput = await crop(photo, { x: 0, y: 0, size: side }, Blazeface.inputSize, (r, g, b) => [
        r * 2 - 1,
        g * 2 - 1,
        b * 2 - 1
      ])
      const detection = await compare("blazeface", detectorInput, [1, Blazeface.inputSize, Blazeface.inputSize, 3])
      const boxes = faces(photo, detection)
      expect(boxes.length).toBeGreaterThan(0)
      for (const box of boxes.slice(0, 3)) {
        const wide = { x: box.x - box.size * 0.25, y: box.y - box.size * 0.25, size: box.size * 1.5 }
        const meshInput = await crop(photo, wide, FaceMesh.inputSize, (r, g, b) => [r, g, b])
        const mesh = await compare("facemesh", meshInput, [1, FaceMesh.inputSize, FaceMesh.inputSize, 3])
        expect(mesh["faceflag"]!.data[0]).toBeGreaterThan(0.5)

        const [wr, wg, wb] = EmotionNet.grayWeights
        const gray = await crop(photo, box, EmotionNet.inputSize, (r, g, b) => [(r * wr + g * wg + b * wb - 0.5) * 2])
        const pair = pairs.get("emotion")!
        const emotion = await compare("emotion", gray, [1, EmotionNet.inputSize, EmotionNet.inputSize, 1])
        const expected = tf.tidy(() =>
          Array.from(
            (
              pair.tfjs.execute(tf.tensor(gray, [1, EmotionNet.inputSize, EmotionNet.inputSize, 1])) as tf.Tensor
            ).dataSync()
          )
        )
        const argmax = (v: ArrayLike<number>) => Array.from(v).indexOf(Math.max(...Array.from(v)))
        expect(EmotionNet.classes[argmax(emotion["probs"]!.data)]).toBe(EmotionNet.classes[argmax(expected)])
        seen.push(`${file} ${EmotionNet.classes[argmax(expected)]}`)
        expect(emotion["cam"]!.dims).toEqual([1, EmotionNet.classes.length, EmotionNet.camSize, EmotionNet.camSize])

        const eye = { x: box.x + box.size * 0.15, y: box.y + box.size * 0.2, size: box.size * 0.35 }
        const irisInput = await crop(photo, eye, Iris.inputSize, (r, g, b) => [r, g, b])
        await compare("iris", irisInput, [1, Iris.inputSize, Iris.inputSize, 3])
      }
    })
  }

  it("gives the same outputs for an item whether it runs alone or in a batch", async () => {
    const session = pairs.get("blazeface")!.onnx
    const item = Blazeface.inputShape.reduce((a, b) => a * b, 1)
    const batch = Float32Array.from({ length: item * 3 }, (_, i) => Math.sin(i * 0.013))
    const all = await session.run({ input: new ort.Tensor("float32", batch, [3, ...Blazeface.inputShape]) })
    const one = await session.run({
      input: new ort.Tensor("float32", batch.slice(item, 2 * item), [1, ...Blazeface.inputShape])
    })
    const perItem = Blazeface.anchors * Blazeface.boxValues
    expect(all["boxes"]!.dims).toEqual([3, Blazeface.anchors, Blazeface.boxValues])
    expect(Array.from((all["boxes"]!.data as Float32Array).slice(perItem, 2 * perItem))).toEqual(
      Array.from(one["boxes"]!.data as Float32Array)
    )
  })
})
