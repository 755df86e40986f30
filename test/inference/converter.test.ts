import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { promises as fs } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as ort from "onnxruntime-node"
import { convert, type OutputSpec } from "../../src/inference/converter/Convert.ts"
import { Attr, encodeModel } from "../../src/inference/converter/OnnxModel.ts"
import { ProtoWriter } from "../../src/inference/converter/Protobuf.ts"
import { float16ToFloat32, parseTfjsGraph } from "../../src/inference/converter/TfjsGraph.ts"
import { build, DEFAULT_MODELS_DIR } from "../../src/inference/ModelBuilder.ts"
import { readManifest } from "../../src/inference/ModelManifest.ts"
import { Blazeface, EmotionNet, FaceMesh, Iris } from "../../src/inference/ModelSpec.ts"
import { cli } from "../support/Cli.ts"

// ---- a tiny TFJS graph-model writer, so each op can be checked against tfjs itself ----

interface WeightSpec {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly values: ReadonlyArray<number>
  readonly dtype?: "float32" | "int32"
  readonly float16?: boolean
}

type AttrValue = { s: string } | { list: { i?: Array<string>; s?: Array<string> } } | { b: boolean } | { i: string }

const b64 = (s: string) => Buffer.from(s).toString("base64")
const a = {
  s: (v: string): AttrValue => ({ s: b64(v) }),
  ints: (v: ReadonlyArray<number>): AttrValue => ({ list: { i: v.map(String) } }),
  strings: (v: ReadonlyArray<string>): AttrValue => ({ list: { s: v.map(b64) } }),
  b: (v: boolean): AttrValue => ({ b: v })
}

const float16Bits = (value: number): number => {
  const f = new Float32Array([value])
  const bits = new Uint32Array(f.buffer)[0]!
  const sign = (bits >>> 16) & 0x8000
  const exp = ((bits >>> 23) & 0xff) - 127 + 15
  if (exp <= 0) return sign
  return sign | (exp << 10) | ((bits >>> 13) & 0x3ff)
}

const tfjsModel = (
  input: ReadonlyArray<number>,
  nodes: ReadonlyArray<{ name: string; op: string; input?: Array<string>; attr?: Record<string, AttrValue> }>,
  weights: ReadonlyArray<WeightSpec>
) => {
  const chunks: Array<Buffer> = []
  for (const w of weights) {
    if (w.float16 === true) {
      chunks.push(Buffer.from(new Uint16Array(w.values.map(float16Bits)).buffer))
    } else if (w.dtype === "int32") {
      chunks.push(Buffer.from(new Int32Array(w.values).buffer))
    } else {
      chunks.push(Buffer.from(new Float32Array(w.values).buffer))
    }
  }
  const json = {
    format: "graph-model",
    modelTopology: {
      versions: {},
      node: [
        { name: "x", op: "Placeholder", attr: { shape: { shape: { dim: input.map((d) => ({ size: String(d) })) } } } },
        ...weights.map((w) => ({ name: w.name, op: "Const", attr: {} })),
        ...nodes
      ]
    },
    weightsManifest: [
      {
        paths: ["w.bin"],
        weights: weights.map((w) => ({
          name: w.name,
          shape: w.shape,
          dtype: w.dtype ?? "float32",
          ...(w.float16 === true ? { quantization: { dtype: "float16", original_dtype: "float32" } } : {})
        }))
      }
    ]
  }
  return { json, bin: new Uint8Array(Buffer.concat(chunks)) }
}

const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + seed) * 0.8)
const w = (name: string, shape: ReadonlyArray<number>, seed: number): WeightSpec => ({
  name,
  shape,
  values: values(
    shape.reduce((p, q) => p * q, 1),
    seed
  )
})
const ints = (name: string, shape: ReadonlyArray<number>, v: ReadonlyArray<number>): WeightSpec => ({
  name,
  shape,
  values: v,
  dtype: "int32"
})

const nhwc = { data_format: a.s("NHWC"), dilations: a.ints([1, 1, 1, 1]) }
const same = { ...nhwc, padding: a.s("SAME"), strides: a.ints([1, 1, 1, 1]) }

/** A stride-1 SAME `_FusedConv2D` with a bias: inputs x, kernel, bias and, with a PRelu, its slopes. */
const fusedConv = (name: string, input: ReadonlyArray<string>, ops: ReadonlyArray<string>) => ({
  name,
  op: "_FusedConv2D",
  input: [...input],
  attr: { ...same, fused_ops: a.strings([...ops]), num_args: { i: String(input.length - 2) } }
})

/** The ONNX bytes our converter makes of a test graph. */
const converted = async (model: ReturnType<typeof tfjsModel>, outputs: ReadonlyArray<OutputSpec>) =>
  (
    await Effect.runPromise(
      convert(parseTfjsGraph(model.json, model.bin), {
        graphName: "t",
        inputName: "input",
        dynamicBatch: true,
        outputs,
        producerVersion: "test"
      })
    )
  ).bytes

/** Converts the graph, runs it in onnxruntime and in tfjs (cpu), and returns the worst absolute difference. */
const parity = async (
  model: ReturnType<typeof tfjsModel>,
  outputs: ReadonlyArray<OutputSpec>,
  inputShape: ReadonlyArray<number>
): Promise<number> => {
  const bytes = await converted(model, outputs)
  const session = await ort.InferenceSession.create(bytes)
  const x = Float32Array.from(
    values(
      inputShape.reduce((p, q) => p * q, 1),
      3
    )
  )
  const result = await session.run({ input: new ort.Tensor("float32", x, [...inputShape]) })
  await tf.setBackend("cpu")
  const graph = await tf.loadGraphModel({
    load: async () => ({
      modelTopology: model.json.modelTopology,
      weightSpecs: model.json.weightsManifest[0]!.weights as unknown as Array<tf.io.WeightsManifestEntry>,
      weightData: model.bin.buffer.slice(model.bin.byteOffset, model.bin.byteOffset + model.bin.byteLength),
      format: "graph-model"
    })
  })
  let worst = 0
  for (const o of outputs) {
    const expected = tf.tidy(() => {
      const raw = graph.execute(tf.tensor(x, [...inputShape]), [...o.sources])
      const parts = Array.isArray(raw) ? raw : [raw]
      const joined = parts.length > 1 ? tf.concat(parts, o.concatAxis ?? 1) : parts[0]!
      return (o.layout === "nchw" ? tf.transpose(joined, [0, 3, 1, 2]) : joined).dataSync() as Float32Array
    })
    const actual = result[o.name]!.data as Float32Array
    expect(actual.length).toBe(expected.length)
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i]! - actual[i]!))
  }
  return worst
}

/** Op type and domain of every node of a serialised ONNX model (ModelProto.graph = 7, GraphProto.node = 1). */
const onnxNodes = (bytes: Uint8Array): ReadonlyArray<{ op: string; domain: string }> => {
  const fields = (buf: Uint8Array): Array<{ no: number; bytes?: Uint8Array }> => {
    const out: Array<{ no: number; bytes?: Uint8Array }> = []
    let p = 0
    const varint = (): number => {
      let value = 0
      for (let shift = 1; ; shift *= 128) {
        const byte = buf[p++]!
        value += (byte & 0x7f) * shift
        if (byte < 0x80) return value
      }
    }
    while (p < buf.length) {
      const key = varint()
      const type = key & 7
      if (type === 0) varint()
      else if (type === 1) p += 8
      else if (type === 5) p += 4
      else if (type === 2) {
        const length = varint()
        out.push({ no: Math.floor(key / 8), bytes: buf.subarray(p, p + length) })
        p += length
      } else throw new Error(`wire type ${type}`)
    }
    return out
  }
  const text = (f: { bytes?: Uint8Array } | undefined) => Buffer.from(f?.bytes ?? new Uint8Array()).toString("utf8")
  const graph = fields(bytes).find((f) => f.no === 7)!.bytes!
  return fields(graph)
    .filter((f) => f.no === 1)
    .map((f) => {
      const node = fields(f.bytes!)
      return { op: text(node.find((n) => n.no === 4)), domain: text(node.find((n) => n.no === 7)) }
    })
}

describe("protobuf and ONNX encoding", () => {
  it("writes varints as protobuf does, including negative int64", () => {
    expect(Array.from(new ProtoWriter().int(1, 300).finish())).toEqual([0x08, 0xac, 0x02])
    expect(Array.from(new ProtoWriter().int(2, -1).finish())).toEqual([
      0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
    ])
    expect(Array.from(new ProtoWriter().string(3, "ab").finish())).toEqual([0x1a, 2, 0x61, 0x62])
  })

  it("encodes a hand-built graph that onnxruntime loads and runs with a dynamic batch", async () => {
    const bytes = encodeModel({
      producerName: "test",
      producerVersion: "0",
      docString: "tiny",
      metadata: [["k", "v"]],
      graph: {
        name: "tiny",
        nodes: [
          {
            name: "t",
            opType: "Transpose",
            inputs: ["x"],
            outputs: ["t"],
            attributes: [["perm", Attr.ints([0, 2, 1])]]
          },
          { name: "add", opType: "Add", inputs: ["t", "c"], outputs: ["add"] },
          { name: "y", opType: "Reshape", inputs: ["add", "shape"], outputs: ["y"] }
        ],
        initializers: [
          { name: "c", type: "float32", dims: [1], data: new Float32Array([10]) },
          { name: "shape", type: "int64", dims: [2], data: new BigInt64Array([-1n, 6n]) }
        ],
        inputs: [{ name: "x", type: "float32", shape: ["N", 2, 3] }],
        outputs: [{ name: "y", type: "float32", shape: ["N", 6] }]
      }
    })
    const session = await ort.InferenceSession.create(bytes)
    expect(session.inputNames).toEqual(["x"])
    const x = new ort.Tensor("float32", Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), [2, 2, 3])
    const { y } = await session.run({ x })
    expect(y!.dims).toEqual([2, 6])
    expect(Array.from(y!.data as Float32Array)).toEqual([10, 13, 11, 14, 12, 15, 16, 19, 17, 20, 18, 21])
  })
})

describe("TFJS graph reading", () => {
  it("dequantises float16 exactly", () => {
    expect(float16ToFloat32(0x3c00)).toBe(1)
    expect(float16ToFloat32(0xc000)).toBe(-2)
    expect(float16ToFloat32(0x7bff)).toBe(65504)
    expect(float16ToFloat32(0x0001)).toBe(2 ** -24)
    expect(float16ToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12)
    expect(float16ToFloat32(0x7c00)).toBe(Number.POSITIVE_INFINITY)
    const model = tfjsModel([1, 1], [], [{ name: "h", shape: [4], values: [0.5, -1.25, 3, 0.1], float16: true }])
    const weight = parseTfjsGraph(model.json, model.bin).weights.get("h")!
    expect(Array.from(weight.data)).toEqual([0.5, -1.25, 3, float16ToFloat32(float16Bits(0.1))])
  })

  it("rejects weight data that does not match the manifest", () => {
    const model = tfjsModel([1, 1], [], [w("k", [4], 1)])
    expect(() => parseTfjsGraph(model.json, model.bin.subarray(0, 12))).toThrow(/runs past the end/)
  })
})

describe("conversion", () => {
  it("matches tfjs on convolutions, depthwise, PRelu, pads, pools, reshape, mean and concat", async () => {
    const model = tfjsModel(
      [-1, 9, 9, 3],
      [
        {
          name: "conv",
          op: "_FusedConv2D",
          input: ["x", "k1", "b1"],
          attr: {
            ...same,
            strides: a.ints([1, 2, 2, 1]),
            fused_ops: a.strings(["BiasAdd", "Relu"]),
            num_args: { i: "1" }
          }
        },
        {
          name: "dw",
          op: "DepthwiseConv2dNative",
          input: ["conv", "kd"],
          attr: { ...same, strides: a.ints([1, 2, 2, 1]) }
        },
        {
          name: "pw",
          op: "_FusedConv2D",
          input: ["dw", "k2", "b2", "alpha"],
          attr: {
            ...nhwc,
            padding: a.s("VALID"),
            strides: a.ints([1, 1, 1, 1]),
            fused_ops: a.strings(["BiasAdd", "Prelu"]),
            num_args: { i: "2" }
          }
        },
        {
          name: "pool",
          op: "MaxPool",
          input: ["conv"],
          attr: { ...same, ksize: a.ints([1, 2, 2, 1]), strides: a.ints([1, 2, 2, 1]) }
        },
        { name: "padded", op: "Pad", input: ["pool", "pads"] },
        { name: "sum", op: "AddV2", input: ["pw", "padded"] },
        { name: "act", op: "Prelu", input: ["sum", "alpha2"] },
        { name: "avg", op: "AvgPool", input: ["act"], attr: { ...same, ksize: a.ints([1, 3, 3, 1]) } },
        { name: "cat", op: "ConcatV2", input: ["avg", "act", "axis"] },
        { name: "flat", op: "Reshape", input: ["cat", "shape"] },
        { name: "mean", op: "Mean", input: ["cat", "axes"], attr: { keep_dims: a.b(false) } },
        { name: "soft", op: "Softmax", input: ["mean"] },
        { name: "six", op: "Relu6", input: ["sum"] },
        { name: "border", op: "Pad", input: ["six", "spatialPads"] }
      ],
      [
        w("k1", [3, 3, 3, 4], 1),
        w("b1", [4], 2),
        w("kd", [3, 3, 4, 2], 3),
        w("k2", [1, 1, 8, 6], 4),
        w("b2", [6], 5),
        w("alpha", [1, 1, 6], 6),
        ints("pads", [4, 2], [0, 0, 0, 0, 0, 0, 0, 2]),
        ints("spatialPads", [4, 2], [0, 0, 1, 0, 0, 2, 0, 0]),
        w("alpha2", [6], 7),
        ints("axis", [], [3]),
        ints("shape", [2], [-1, 3 * 3 * 12]),
        ints("axes", [2], [1, 2])
      ]
    )
    const outputs: ReadonlyArray<OutputSpec> = [
      { name: "flat", sources: ["flat"] },
      { name: "soft", sources: ["soft"] },
      { name: "cat", sources: ["cat"], layout: "nchw" },
      { name: "border", sources: ["border"] },
      { name: "joined", sources: ["pw", "padded"], concatAxis: 3 }
    ]
    expect(await parity(model, outputs, [2, 9, 9, 3])).toBeLessThan(1e-5)
  })

  it("writes PRelu and channel padding in onnxruntime's blocked-layout forms that still match tfjs", async () => {
    // Slopes below 0, between 0 and 1, and above 1; a scalar slope; zero channels before and after; a PadV2 with
    // another value (kept a Pad); a PRelu on a flat tensor (the Min/Mul/Add form).
    const slopes = Array.from({ length: 16 }, (_, i) => -1 + i * 0.2)
    const model = tfjsModel(
      [-1, 5, 5, 16],
      [
        fusedConv("conv", ["x", "k", "b", "alpha"], ["BiasAdd", "Prelu"]),
        { name: "scalar", op: "Prelu", input: ["conv", "alphaScalar"] },
        { name: "zeros", op: "Pad", input: ["scalar", "channelPads"] },
        { name: "ones", op: "PadV2", input: ["scalar", "endPads", "one"] },
        { name: "sum", op: "AddV2", input: ["zeros", "ones"] },
        { name: "flat", op: "Reshape", input: ["scalar", "shape"] },
        { name: "flatAct", op: "Prelu", input: ["flat", "alphaFlat"] }
      ],
      [
        w("k", [3, 3, 16, 16], 1),
        w("b", [16], 2),
        { name: "alpha", shape: [1, 1, 16], values: slopes },
        { name: "alphaScalar", shape: [], values: [1.75] },
        ints("channelPads", [4, 2], [0, 0, 0, 0, 0, 0, 3, 13]),
        ints("endPads", [4, 2], [0, 0, 0, 0, 0, 0, 0, 16]),
        { name: "one", shape: [], values: [1.5] },
        ints("shape", [2], [-1, 5 * 5 * 16]),
        w("alphaFlat", [5 * 5 * 16], 3)
      ]
    )
    const outputs: ReadonlyArray<OutputSpec> = [
      { name: "conv", sources: ["conv"], layout: "nchw" },
      { name: "sum", sources: ["sum"] },
      { name: "flatAct", sources: ["flatAct"] }
    ]
    expect(await parity(model, outputs, [2, 5, 5, 16])).toBeLessThan(1e-5)
  })

  it("keeps a PRelu residual network in onnxruntime's blocked layout from the first convolution to the output", async (ctx) => {
    // The mesh's block shapes: conv → PRelu, depthwise → pointwise + residual → PRelu, and a downsampling block
    // whose residual is a max-pool padded with zero channels.
    const model = tfjsModel(
      [-1, 8, 8, 16],
      [
        fusedConv("c1", ["x", "k1", "b1", "a1"], ["BiasAdd", "Prelu"]),
        { name: "dw", op: "DepthwiseConv2dNative", input: ["c1", "kd"], attr: same },
        fusedConv("pw", ["dw", "k2", "b2"], ["BiasAdd"]),
        { name: "add", op: "AddV2", input: ["c1", "pw"] },
        { name: "act", op: "Prelu", input: ["add", "a2"] },
        {
          name: "pool",
          op: "MaxPool",
          input: ["act"],
          attr: { ...same, ksize: a.ints([1, 2, 2, 1]), strides: a.ints([1, 2, 2, 1]) }
        },
        { name: "padded", op: "Pad", input: ["pool", "channelPads"] },
        {
          name: "dw2",
          op: "DepthwiseConv2dNative",
          input: ["act", "kd2"],
          attr: { ...same, strides: a.ints([1, 2, 2, 1]) }
        },
        fusedConv("pw2", ["dw2", "k3", "b3"], ["BiasAdd"]),
        { name: "add2", op: "AddV2", input: ["pw2", "padded"] },
        { name: "act2", op: "Prelu", input: ["add2", "a3"] }
      ],
      [
        w("k1", [3, 3, 16, 16], 1),
        w("b1", [16], 2),
        w("a1", [1, 1, 16], 3),
        w("kd", [3, 3, 16, 1], 4),
        w("k2", [1, 1, 16, 16], 5),
        w("b2", [16], 6),
        w("a2", [1, 1, 16], 7),
        ints("channelPads", [4, 2], [0, 0, 0, 0, 0, 0, 0, 16]),
        w("kd2", [3, 3, 16, 1], 8),
        w("k3", [1, 1, 16, 32], 9),
        w("b3", [32], 10),
        w("a3", [1, 1, 32], 11)
      ]
    )
    const outputs: ReadonlyArray<OutputSpec> = [{ name: "y", sources: ["act2"] }]
    expect(await parity(model, outputs, [2, 8, 8, 16])).toBeLessThan(1e-5)

    const bytes = await converted(model, outputs)
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "candor-nchwc-"))
    const optimised = path.join(dir, "optimised.onnx")
    try {
      const session = await ort.InferenceSession.create(bytes, {
        graphOptimizationLevel: "all",
        optimizedModelFilePath: optimised
      })
      await session.release()
      const nodes = onnxNodes(await fs.readFile(optimised))

      const blocked = nodes.filter((n) => n.domain === "com.microsoft.nchwc")
      // No blocked layout on this CPU (onnxruntime uses it on x86 with AVX2 or AVX-512): nothing to check.
      if (blocked.length === 0) return ctx.skip()
      // One layout change in (NHWC to blocked) and one out; no PRelu, Pad or Add left in NCHW between them.
      expect(nodes.filter((n) => n.domain !== "com.microsoft.nchwc" && n.op !== "Transpose")).toEqual([])
      expect(blocked.filter((n) => n.op === "ReorderInput").length).toBeLessThanOrEqual(1)
      expect(blocked.filter((n) => n.op === "ReorderOutput").length).toBe(1)
      expect(blocked.filter((n) => n.op === "Conv").length).toBeGreaterThan(0)
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })

  it("makes a batch-1 graph batch-dynamic, input and Reshape target alike", async () => {
    const model = tfjsModel(
      [1, 4, 4, 2],
      [
        { name: "c", op: "_FusedConv2D", input: ["x", "k", "b"], attr: { ...same, fused_ops: a.strings(["BiasAdd"]) } },
        { name: "r", op: "Reshape", input: ["c", "shape"] }
      ],
      [w("k", [1, 1, 2, 3], 1), w("b", [3], 2), ints("shape", [3], [1, 16, 3])]
    )
    const { bytes, inputs, outputs } = await Effect.runPromise(
      convert(parseTfjsGraph(model.json, model.bin), {
        graphName: "t",
        inputName: "input",
        dynamicBatch: true,
        outputs: [{ name: "out", sources: ["r"] }],
        producerVersion: "test"
      })
    )
    expect(inputs[0]!.shape).toEqual(["N", 4, 4, 2])
    expect(outputs[0]!.shape).toEqual(["N", 16, 3])
    const session = await ort.InferenceSession.create(bytes)
    const x = new ort.Tensor("float32", new Float32Array(3 * 32).fill(1), [3, 4, 4, 2])
    expect((await session.run({ input: x }))["out"]!.dims).toEqual([3, 16, 3])
  })

  it.effect("fails on an unknown op with UnsupportedOp naming the op", () =>
    Effect.gen(function* () {
      const model = tfjsModel([-1, 4], [{ name: "weird", op: "Erf", input: ["x"] }], [])
      const error = yield* Effect.flip(
        convert(parseTfjsGraph(model.json, model.bin), {
          graphName: "t",
          inputName: "input",
          dynamicBatch: true,
          outputs: [{ name: "y", sources: ["weird"] }],
          producerVersion: "test"
        })
      )
      expect(error._tag).toBe("UnsupportedOp")
      expect(error._tag === "UnsupportedOp" && error.op).toBe("Erf")
      expect(error.message).toContain("Erf")
    })
  )

  it.effect("fails on an unsupported fused activation, naming it", () =>
    Effect.gen(function* () {
      const model = tfjsModel(
        [-1, 4, 4, 1],
        [
          {
            name: "c",
            op: "_FusedConv2D",
            input: ["x", "k", "b"],
            attr: { ...same, fused_ops: a.strings(["BiasAdd", "Elu"]) }
          }
        ],
        [w("k", [1, 1, 1, 1], 1), w("b", [1], 2)]
      )
      const error = yield* Effect.flip(
        convert(parseTfjsGraph(model.json, model.bin), {
          graphName: "t",
          inputName: "input",
          dynamicBatch: true,
          outputs: [{ name: "y", sources: ["c"] }],
          producerVersion: "test"
        })
      )
      expect(error._tag).toBe("UnsupportedOp")
      expect(error.message).toContain("Elu")
    })
  )
})

describe("models build", () => {
  const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
  const temp = () => fs.mkdtemp(path.join(os.tmpdir(), "candor-models-"))

  it("builds byte-identical files twice, equal to the committed manifest", async () => {
    const [one, two] = [await temp(), await temp()]
    try {
      const first = await Effect.runPromise(build({ outDir: one }))
      const second = await Effect.runPromise(build({ outDir: two }))
      const manifest = await Effect.runPromise(readManifest(path.join(DEFAULT_MODELS_DIR, "manifest.json")))
      expect(first.models.map((m) => m.model)).toEqual(["emotion", "blazeface", "facemesh", "iris"])
      for (const m of first.models) {
        const a1 = await fs.readFile(path.join(one, `${m.model}.onnx`))
        const a2 = await fs.readFile(path.join(two, `${m.model}.onnx`))
        expect(Buffer.compare(a1, a2)).toBe(0)
        expect(sha(a1)).toBe(manifest!.models[m.model]!.sha256)
      }
      expect(second.models.every((m) => m.status === "built")).toBe(true)
      const again = await Effect.runPromise(build({ outDir: one }))
      expect(again.models.every((m) => m.status === "up-to-date")).toBe(true)
      expect(again.manifestWritten).toBe(false)
    } finally {
      await fs.rm(one, { recursive: true, force: true })
      await fs.rm(two, { recursive: true, force: true })
    }
  })

  it.effect("names the input file whose sha256 differs from the manifest", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(temp)
      const manifestPath = path.join(dir, "manifest.json")
      const committed = yield* Effect.promise(() => fs.readFile(path.join(DEFAULT_MODELS_DIR, "manifest.json"), "utf8"))
      const tampered = JSON.parse(committed)
      tampered.models.emotion.inputs["models/emotion.bin"] = "0".repeat(64)
      yield* Effect.promise(() => fs.writeFile(manifestPath, JSON.stringify(tampered)))
      const error = yield* Effect.flip(build({ outDir: dir, manifestPath, models: ["emotion"] }))
      yield* Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
      expect(error._tag).toBe("ChecksumMismatch")
      expect(error.message).toContain("emotion.bin")
    })
  )

  it.effect("rewrites a damaged model file and records a first manifest", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.promise(temp)
      const manifestPath = path.join(dir, "manifest.json")
      yield* build({ outDir: dir, manifestPath, models: ["emotion"] })
      const recorded = yield* readManifest(manifestPath)
      expect(recorded!.source.package).toBe("@vladmandic/human")
      expect(Object.keys(recorded!.models)).toEqual(["emotion"])
      const file = path.join(dir, "emotion.onnx")
      yield* Effect.promise(() => fs.writeFile(file, "damaged"))
      const result = yield* build({ outDir: dir, manifestPath, models: ["emotion"] })
      const bytes = yield* Effect.promise(() => fs.readFile(file))
      yield* Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
      expect(result.models[0]!.status).toBe("built")
      expect(sha(bytes)).toBe(recorded!.models["emotion"]!.sha256)
    })
  )

  it("runs as a CLI verb with exit codes", async () => {
    const dir = await temp()
    try {
      expect((await cli(["models", "--bogus"])).code).toBe(2)
      const unknown = await cli(["models", "--only", "nosuchmodel"])
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toMatch(/--only: "nosuchmodel"/)
      expect((await cli(["models", "--out", dir, "--only", "emotion"])).code).toBe(0)
      expect((await fs.readdir(dir)).filter((f) => f.endsWith(".onnx"))).toEqual(["emotion.onnx"])
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })

  it("honours the model contract: names, NHWC inputs, dynamic batch, output shapes", async () => {
    const dir = await temp()
    try {
      await Effect.runPromise(build({ outDir: dir }))
      const cases = [
        {
          spec: Blazeface,
          outputs: { scores: [Blazeface.anchors, 1], boxes: [Blazeface.anchors, Blazeface.boxValues] }
        },
        {
          spec: FaceMesh,
          outputs: { mesh: [FaceMesh.meshValues], faceflag: [1] }
        },
        {
          spec: EmotionNet,
          outputs: {
            probs: [EmotionNet.classes.length],
            cam: [EmotionNet.classes.length, EmotionNet.camSize, EmotionNet.camSize]
          }
        },
        { spec: Iris, outputs: { landmarks: [1, 1, Iris.values] } }
      ]
      for (const { spec, outputs } of cases) {
        const session = await ort.InferenceSession.create(path.join(dir, spec.file))
        expect(session.inputNames).toEqual([spec.input])
        expect([...session.outputNames].sort()).toEqual(Object.keys(outputs).sort())
        const size = spec.inputShape.reduce((p: number, q: number) => p * q, 1)
        const x = new ort.Tensor("float32", new Float32Array(2 * size).fill(0.25), [2, ...spec.inputShape])
        const result = await session.run({ input: x })
        for (const [name, shape] of Object.entries(outputs)) expect(result[name]!.dims).toEqual([2, ...shape])
        if (spec === FaceMesh) {
          for (const p of result["faceflag"]!.data as Float32Array) expect(p >= 0 && p <= 1).toBe(true)
        }
        if (spec === EmotionNet) {
          const probs = result["probs"]!.data as Float32Array
          expect(probs.slice(0, 7).reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5)
        }
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
