import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { Blazeface, EmotionNet, FaceMesh } from "./ModelSpec.ts"

/** The three face models, batched: inputs are NHWC float32 buffers of which the first `n` items are used. */
export interface FaceModels {
  readonly detect: (input: Float32Array, n: number) => Promise<{ scores: Float32Array; boxes: Float32Array }>
  readonly mesh: (input: Float32Array, n: number) => Promise<{ mesh: Float32Array; faceflag: Float32Array }>
  readonly emotion: (
    input: Float32Array,
    n: number
  ) => Promise<{ probs: Float32Array; cam: Float32Array; camHeight: number; camWidth: number }>
  readonly release: () => Promise<void>
}

/**
 * One worker owns one core: a single intra-op thread and no spinning, so an idle worker really idles and two
 * workers never fight over a core (two ORT threads were measured slower than one on a 2-core machine).
 */
export const sessionOptions: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
  extra: { session: { "intra_op.allow_spinning": "0", "inter_op.allow_spinning": "0" } }
}

const floats = (value: ort.Tensor | undefined, name: string): Float32Array => {
  if (value === undefined || !(value.data instanceof Float32Array)) throw new Error(`model output ${name} missing`)
  return value.data
}

const itemSize = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

const tensor = (input: Float32Array, n: number, shape: ReadonlyArray<number>) =>
  new ort.Tensor("float32", input.subarray(0, n * itemSize(shape)), [n, ...shape])

/**
 * Runs a batch of `n` items one item per call and joins each output in item order: the same outputs as one
 * batched call.
 */
export const oneByOne = async <O extends Record<string, Float32Array>>(
  input: Float32Array,
  n: number,
  shape: ReadonlyArray<number>,
  run: (input: Float32Array, n: number) => Promise<O>
): Promise<O> => {
  if (n <= 1) return run(input, n)
  const size = itemSize(shape)
  const parts: Array<O> = []
  for (let k = 0; k < n; k++) parts.push(await run(input.subarray(k * size, (k + 1) * size), 1))
  const joined: Record<string, Float32Array> = {}
  for (const key of Object.keys(parts[0]!)) {
    const all = new Float32Array(parts.reduce((sum, part) => sum + part[key]!.length, 0))
    let at = 0
    for (const part of parts) {
      all.set(part[key]!, at)
      at += part[key]!.length
    }
    joined[key] = all
  }
  return joined as O
}

export interface LoadOptions {
  /**
   * Run the detector and the face mesh one item per call (the default). On the 2-core bench machine onnxruntime's
   * batched calls of these two cost more CPU per item than single ones (bench/RESULTS.md, "Way tried: the
   * workers' work around the models"); the emotion net gains a little from batches and keeps them. The bench's model-only bound
   * sets this false to measure the batched calls themselves.
   */
  readonly oneByOne?: boolean
}

/** Creates the ONNX sessions once; the caller keeps them for the life of the worker. */
export const loadOnnxModels = async (modelsDir: string, options: LoadOptions = {}): Promise<FaceModels> => {
  const [detector, mesher, classifier] = await Promise.all([
    ort.InferenceSession.create(join(modelsDir, Blazeface.file), sessionOptions),
    ort.InferenceSession.create(join(modelsDir, FaceMesh.file), sessionOptions),
    ort.InferenceSession.create(join(modelsDir, EmotionNet.file), sessionOptions)
  ])
  const split = options.oneByOne ?? true
  const detect = async (input: Float32Array, n: number) => {
    const out = await detector.run({ [Blazeface.input]: tensor(input, n, Blazeface.inputShape) })
    return { scores: floats(out[Blazeface.scores], Blazeface.scores), boxes: floats(out[Blazeface.boxes], "boxes") }
  }
  const mesh = async (input: Float32Array, n: number) => {
    const out = await mesher.run({ [FaceMesh.input]: tensor(input, n, FaceMesh.inputShape) }, [
      FaceMesh.mesh,
      FaceMesh.faceflag
    ])
    return { mesh: floats(out[FaceMesh.mesh], FaceMesh.mesh), faceflag: floats(out[FaceMesh.faceflag], "faceflag") }
  }
  return {
    detect: split ? (input, n) => oneByOne(input, n, Blazeface.inputShape, detect) : detect,
    mesh: split ? (input, n) => oneByOne(input, n, FaceMesh.inputShape, mesh) : mesh,
    emotion: async (input, n) => {
      const out = await classifier.run({ [EmotionNet.input]: tensor(input, n, EmotionNet.inputShape) })
      const cam = out[EmotionNet.cam]
      return {
        probs: floats(out[EmotionNet.probs], EmotionNet.probs),
        cam: floats(cam, EmotionNet.cam),
        camHeight: Number(cam?.dims[2] ?? 0),
        camWidth: Number(cam?.dims[3] ?? 0)
      }
    },
    release: async () => {
      await Promise.all([detector.release(), mesher.release(), classifier.release()])
    }
  }
}
