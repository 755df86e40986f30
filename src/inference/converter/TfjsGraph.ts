/**
 * Reads a TFJS graph model (model.json + weight shards): the node list with decoded attributes and
 * every weight as float32 or int32, dequantising float16 / uint8 / uint16 storage.
 */
import { Schema } from "effect"
import { InvalidModel } from "./ConverterError.ts"

const WeightEntry = Schema.Struct({
  name: Schema.String,
  shape: Schema.Array(Schema.Number),
  dtype: Schema.String,
  quantization: Schema.optionalKey(
    Schema.Struct({
      dtype: Schema.String,
      scale: Schema.optionalKey(Schema.Number),
      min: Schema.optionalKey(Schema.Number)
    })
  )
})

const TensorSpec = Schema.Struct({
  name: Schema.String,
  tensorShape: Schema.optionalKey(
    Schema.Struct({ dim: Schema.optionalKey(Schema.Array(Schema.Struct({ size: Schema.optionalKey(Schema.String) }))) })
  )
})

const Signature = Schema.Struct({
  inputs: Schema.optionalKey(Schema.Record(Schema.String, TensorSpec)),
  outputs: Schema.optionalKey(Schema.Record(Schema.String, TensorSpec))
})

/** The parts of a TFJS `model.json` the converter reads. */
export const ModelJson = Schema.Struct({
  format: Schema.optionalKey(Schema.String),
  generatedBy: Schema.optionalKey(Schema.String),
  convertedBy: Schema.optionalKey(Schema.NullOr(Schema.String)),
  signature: Schema.optionalKey(Signature),
  userDefinedMetadata: Schema.optionalKey(Schema.Struct({ signature: Schema.optionalKey(Signature) })),
  modelTopology: Schema.Struct({
    node: Schema.Array(
      Schema.Struct({
        name: Schema.String,
        op: Schema.String,
        input: Schema.optionalKey(Schema.Array(Schema.String)),
        attr: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
      })
    )
  }),
  weightsManifest: Schema.Array(
    Schema.Struct({ paths: Schema.Array(Schema.String), weights: Schema.Array(WeightEntry) })
  )
})
export type ModelJson = typeof ModelJson.Type

export interface Weight {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array | Int32Array
}

export interface TfNode {
  readonly name: string
  readonly op: string
  /** Data inputs by producing node name (`:0` suffixes and `^control` inputs removed). */
  readonly inputs: ReadonlyArray<string>
  readonly attr: Readonly<Record<string, unknown>>
}

export interface SignatureTensor {
  readonly key: string
  readonly node: string
  readonly shape: ReadonlyArray<number>
}

export interface TfjsGraph {
  readonly nodes: ReadonlyArray<TfNode>
  readonly byName: ReadonlyMap<string, TfNode>
  readonly weights: ReadonlyMap<string, Weight>
  readonly inputs: ReadonlyArray<SignatureTensor>
  readonly outputs: ReadonlyArray<SignatureTensor>
}

/** Converts IEEE 754 half-precision bits to a number. */
export const float16ToFloat32 = (bits: number): number => {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const fraction = bits & 0x3ff
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024)
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024)
}

const decodeWeight = (entry: typeof WeightEntry.Type, bytes: Uint8Array, offset: number): [Weight, number] => {
  const count = entry.shape.reduce((a, b) => a * b, 1)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const q = entry.quantization
  const width = q === undefined ? 4 : q.dtype === "float16" || q.dtype === "uint16" ? 2 : q.dtype === "uint8" ? 1 : 0
  if (width === 0) throw new InvalidModel({ reason: `weight ${entry.name}: quantization ${q?.dtype} not supported` })
  if (offset + count * width > bytes.length) {
    throw new InvalidModel({ reason: `weight ${entry.name} runs past the end of the weight data` })
  }
  const end = offset + count * width
  if (entry.dtype === "int32" && q === undefined) {
    const data = new Int32Array(count)
    for (let i = 0; i < count; i++) data[i] = view.getInt32(offset + i * 4, true)
    return [{ name: entry.name, shape: entry.shape, data }, end]
  }
  if (entry.dtype !== "float32")
    throw new InvalidModel({ reason: `weight ${entry.name}: dtype ${entry.dtype} not supported` })
  const data = new Float32Array(count)
  if (q === undefined) {
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + i * 4, true)
  } else if (q.dtype === "float16") {
    for (let i = 0; i < count; i++) data[i] = float16ToFloat32(view.getUint16(offset + i * 2, true))
  } else {
    const scale = q.scale ?? 1
    const min = q.min ?? 0
    for (let i = 0; i < count; i++) {
      const v = width === 1 ? view.getUint8(offset + i) : view.getUint16(offset + i * 2, true)
      data[i] = v * scale + min
    }
  }
  return [{ name: entry.name, shape: entry.shape, data }, end]
}

const signatureTensors = (specs: Readonly<Record<string, typeof TensorSpec.Type>> | undefined) =>
  Object.entries(specs ?? {})
    .map(([key, spec]) => ({
      key,
      node: spec.name.replace(/:0$/, ""),
      shape: (spec.tensorShape?.dim ?? []).map((d) => Number(d.size ?? "-1"))
    }))
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))

/** The weight shard files in manifest order; their concatenation is the weight data. */
export const weightPaths = (json: ModelJson): ReadonlyArray<string> => json.weightsManifest.flatMap((g) => g.paths)

/** Decodes `model.json` (already parsed) and the concatenated weight shards. */
export const parseTfjsGraph = (raw: unknown, weightData: Uint8Array): TfjsGraph => {
  let json: ModelJson
  try {
    json = Schema.decodeUnknownSync(ModelJson)(raw)
  } catch (cause) {
    throw new InvalidModel({ reason: `model.json does not match the TFJS graph format: ${String(cause)}` })
  }
  if (json.format !== undefined && json.format !== "graph-model") {
    throw new InvalidModel({ reason: `format ${json.format} is not a graph model` })
  }
  const weights = new Map<string, Weight>()
  let offset = 0
  for (const entry of json.weightsManifest.flatMap((g) => g.weights)) {
    const [weight, next] = decodeWeight(entry, weightData, offset)
    weights.set(weight.name, weight)
    offset = next
  }
  if (offset !== weightData.length) {
    throw new InvalidModel({ reason: `weight data is ${weightData.length} bytes, the manifest describes ${offset}` })
  }
  const nodes: Array<TfNode> = json.modelTopology.node.map((n) => ({
    name: n.name,
    op: n.op,
    inputs: (n.input ?? [])
      .filter((i) => !i.startsWith("^"))
      .map((i) => {
        const [name, index] = i.split(":")
        if (index !== undefined && index !== "0") {
          throw new InvalidModel({
            reason: `node ${n.name} reads output ${index} of ${name}; only single outputs are supported`
          })
        }
        return name!
      }),
    attr: n.attr ?? {}
  }))
  const signature = json.signature ?? json.userDefinedMetadata?.signature
  return {
    nodes,
    byName: new Map(nodes.map((n) => [n.name, n])),
    weights,
    inputs: signatureTensors(signature?.inputs),
    outputs: signatureTensors(signature?.outputs)
  }
}

const attrOf = (node: TfNode, key: string): Record<string, unknown> | undefined => {
  const value = node.attr[key]
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined
}

const decodeBase64 = (s: unknown): string => Buffer.from(String(s), "base64").toString("utf8")

/** Attribute readers; TFJS stores strings base64-encoded and 64-bit ints as decimal strings. */
export const Attrs = {
  string: (node: TfNode, key: string): string | undefined => {
    const a = attrOf(node, key)
    return a?.["s"] === undefined ? undefined : decodeBase64(a["s"])
  },
  strings: (node: TfNode, key: string): ReadonlyArray<string> => {
    const list = attrOf(node, key)?.["list"] as { s?: ReadonlyArray<string> } | undefined
    return (list?.s ?? []).map(decodeBase64)
  },
  ints: (node: TfNode, key: string): ReadonlyArray<number> | undefined => {
    const list = attrOf(node, key)?.["list"] as { i?: ReadonlyArray<string> } | undefined
    return list === undefined ? undefined : (list.i ?? []).map(Number)
  },
  bool: (node: TfNode, key: string): boolean | undefined => {
    const b = attrOf(node, key)?.["b"]
    return b === undefined ? undefined : Boolean(b)
  },
  shape: (node: TfNode, key: string): ReadonlyArray<number> | undefined => {
    const shape = attrOf(node, key)?.["shape"] as { dim?: ReadonlyArray<{ size?: string }> } | undefined
    return shape === undefined ? undefined : (shape.dim ?? []).map((d) => Number(d.size ?? "-1"))
  }
}
