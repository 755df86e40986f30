/**
 * Plain data for the subset of ONNX the converter emits, and its protobuf encoding
 * (field numbers from onnx/onnx.proto). Nothing here reads clocks or environment, so the bytes
 * depend on the model data only.
 */
import { ProtoWriter } from "./Protobuf.ts"

export const IR_VERSION = 8
export const OPSET = 17

export type ElemType = "float32" | "int32" | "int64"

const ELEM_CODE: Record<ElemType, number> = { float32: 1, int32: 6, int64: 7 }

export interface Tensor {
  readonly name: string
  readonly type: ElemType
  readonly dims: ReadonlyArray<number>
  readonly data: Float32Array | Int32Array | BigInt64Array
}

export type Attribute =
  | { readonly _tag: "int"; readonly value: number }
  | { readonly _tag: "ints"; readonly value: ReadonlyArray<number> }
  | { readonly _tag: "float"; readonly value: number }
  | { readonly _tag: "floats"; readonly value: ReadonlyArray<number> }
  | { readonly _tag: "string"; readonly value: string }
  | { readonly _tag: "tensor"; readonly value: Tensor }

export const Attr = {
  int: (value: number): Attribute => ({ _tag: "int", value }),
  ints: (value: ReadonlyArray<number>): Attribute => ({ _tag: "ints", value }),
  float: (value: number): Attribute => ({ _tag: "float", value }),
  floats: (value: ReadonlyArray<number>): Attribute => ({ _tag: "floats", value }),
  string: (value: string): Attribute => ({ _tag: "string", value }),
  tensor: (value: Tensor): Attribute => ({ _tag: "tensor", value })
}

export interface Node {
  readonly name: string
  readonly opType: string
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly attributes?: ReadonlyArray<readonly [string, Attribute]>
}

/** A dimension is a fixed size or a symbolic name (the dynamic batch is `"N"`). */
export type Dim = number | string

export interface ValueInfo {
  readonly name: string
  readonly type: ElemType
  readonly shape: ReadonlyArray<Dim>
}

export interface Graph {
  readonly name: string
  readonly nodes: ReadonlyArray<Node>
  readonly initializers: ReadonlyArray<Tensor>
  readonly inputs: ReadonlyArray<ValueInfo>
  readonly outputs: ReadonlyArray<ValueInfo>
}

export interface Model {
  readonly producerName: string
  readonly producerVersion: string
  readonly docString: string
  readonly metadata: ReadonlyArray<readonly [string, string]>
  readonly graph: Graph
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const rawBytes = (data: Tensor["data"]): Uint8Array => {
  if (littleEndian) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  const out = new Uint8Array(data.byteLength)
  const view = new DataView(out.buffer)
  data.forEach((v: number | bigint, i: number) => {
    if (typeof v === "bigint") view.setBigInt64(i * 8, v, true)
    else if (data instanceof Float32Array) view.setFloat32(i * 4, v, true)
    else view.setInt32(i * 4, v, true)
  })
  return out
}

const writeTensor = (w: ProtoWriter, t: Tensor): void => {
  if (t.dims.length > 0) w.packedInts(1, t.dims)
  w.int(2, ELEM_CODE[t.type])
  w.string(8, t.name)
  w.bytes(9, rawBytes(t.data))
}

const writeAttribute = (w: ProtoWriter, name: string, a: Attribute): void => {
  w.string(1, name)
  switch (a._tag) {
    case "float":
      w.float(2, a.value).int(20, 1)
      break
    case "int":
      w.int(3, a.value).int(20, 2)
      break
    case "string":
      w.string(4, a.value).int(20, 3)
      break
    case "tensor":
      w.message(5, (t) => writeTensor(t, a.value)).int(20, 4)
      break
    case "floats":
      w.packedFloats(7, a.value).int(20, 6)
      break
    case "ints":
      w.packedInts(8, a.value).int(20, 7)
      break
  }
}

const writeNode = (w: ProtoWriter, n: Node): void => {
  for (const i of n.inputs) w.string(1, i)
  for (const o of n.outputs) w.string(2, o)
  w.string(3, n.name)
  w.string(4, n.opType)
  for (const [name, a] of n.attributes ?? []) w.message(5, (m) => writeAttribute(m, name, a))
}

const writeValueInfo = (w: ProtoWriter, v: ValueInfo): void => {
  w.string(1, v.name)
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ELEM_CODE[v.type])
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)))
      })
    })
  )
}

const writeGraph = (w: ProtoWriter, g: Graph): void => {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n))
  w.string(2, g.name)
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t))
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v))
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v))
}

/** Serialises a model as an ONNX ModelProto (IR 8, default-domain opset 17). */
export const encodeModel = (model: Model): Uint8Array => {
  const w = new ProtoWriter()
  w.int(1, IR_VERSION)
  w.string(2, model.producerName)
  w.string(3, model.producerVersion)
  if (model.docString.length > 0) w.string(6, model.docString)
  w.message(7, (g) => writeGraph(g, model.graph))
  w.message(8, (op) => op.string(1, "").int(2, OPSET))
  for (const [key, value] of model.metadata) w.message(14, (m) => m.string(1, key).string(2, value))
  return w.finish()
}
