/**
 * Conversion state: the ONNX nodes and initializers emitted so far, and for every TF tensor the ONNX
 * tensor that holds it together with its layout. Convolutions keep activations in NCHW; everything
 * else asks for the TF layout and gets one cached Transpose back.
 */
import { InvalidModel } from "./ConverterError.ts"
import { Attr, type Attribute, type ElemType, type Node, type Tensor } from "./OnnxModel.ts"
import type { TfjsGraph, TfNode, Weight } from "./TfjsGraph.ts"

/** `plain`: the ONNX tensor has the TF shape. `nchw`: a 4-D TF NHWC tensor stored transposed to NCHW. */
export type Layout = "plain" | "nchw"

export interface Value {
  readonly name: string
  readonly layout: Layout
  /** Shape in TF terms (NHWC for images); -1 is the dynamic batch. */
  readonly shape: ReadonlyArray<number>
}

export const TO_NCHW = [0, 3, 1, 2] as const
export const TO_NHWC = [0, 2, 3, 1] as const

/** Transposes row-major `data` of `shape` by `perm` (numpy semantics). */
export const transposeData = <A extends Float32Array | Int32Array>(
  data: A,
  shape: ReadonlyArray<number>,
  perm: ReadonlyArray<number>
): A => {
  const rank = shape.length
  const outShape = perm.map((p) => shape[p]!)
  const inStrides = new Array<number>(rank).fill(1)
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * shape[i + 1]!
  const stridesInOutOrder = perm.map((p) => inStrides[p]!)
  const out = new (data.constructor as new (n: number) => A)(data.length)
  const index = new Array<number>(rank).fill(0)
  for (let o = 0; o < data.length; o++) {
    let src = 0
    for (let d = 0; d < rank; d++) src += index[d]! * stridesInOutOrder[d]!
    out[o] = data[src]!
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < outShape[d]!) break
      index[d] = 0
    }
  }
  return out
}

export class GraphBuilder {
  readonly nodes: Array<Node> = []
  readonly initializers: Array<Tensor> = []
  private readonly values = new Map<string, Value>()
  private readonly used = new Set<string>()
  private readonly transposed = new Map<string, string>()
  private readonly constants = new Map<string, string>()

  constructor(
    readonly graph: TfjsGraph,
    readonly dynamicBatch: boolean
  ) {}

  unique(base: string): string {
    let name = base
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`
    this.used.add(name)
    return name
  }

  set(tfName: string, value: Value): void {
    this.values.set(tfName, value)
  }

  node(tfName: string): TfNode {
    const node = this.graph.byName.get(tfName)
    if (node === undefined) throw new InvalidModel({ reason: `no node named ${tfName}` })
    return node
  }

  /** The weight behind a Const node, looking through Identity. */
  weight(tfName: string): Weight | undefined {
    const node = this.graph.byName.get(tfName)
    if (node?.op === "Identity" && node.inputs[0] !== undefined) return this.weight(node.inputs[0])
    return node?.op === "Const" ? this.graph.weights.get(tfName) : undefined
  }

  requireWeight(node: TfNode, index: number): Weight {
    const name = node.inputs[index]
    const w = name === undefined ? undefined : this.weight(name)
    if (w === undefined) throw new InvalidModel({ reason: `input ${index} of ${node.name} must be a constant` })
    return w
  }

  /** The converted value of a TF tensor; constants become initializers on first use. */
  get(tfName: string): Value {
    const value = this.values.get(tfName)
    if (value !== undefined) return value
    const w = this.weight(tfName)
    if (w === undefined) throw new InvalidModel({ reason: `tensor ${tfName} is used before it is produced` })
    const name = this.tensor(tfName, w.data instanceof Int32Array ? "int32" : "float32", w.shape, w.data)
    const converted: Value = { name, layout: "plain", shape: w.shape }
    this.values.set(tfName, converted)
    return converted
  }

  tensor(base: string, type: ElemType, dims: ReadonlyArray<number>, data: Tensor["data"]): string {
    const name = this.unique(base)
    this.initializers.push({ name, type, dims, data })
    return name
  }

  /** A shared float scalar initializer. */
  scalar(value: number): string {
    const key = `scalar:${value}`
    let name = this.constants.get(key)
    if (name === undefined) {
      name = this.tensor(`const/${value}`, "float32", [], new Float32Array([value]))
      this.constants.set(key, name)
    }
    return name
  }

  int64(base: string, values: ReadonlyArray<number>): string {
    return this.tensor(base, "int64", [values.length], BigInt64Array.from(values.map((v) => BigInt(v))))
  }

  /** Emits one node and returns the name of its (single) output. */
  emit(
    opType: string,
    inputs: ReadonlyArray<string>,
    base: string,
    attributes?: ReadonlyArray<readonly [string, Attribute]>
  ) {
    const name = this.unique(base)
    this.nodes.push(
      attributes === undefined
        ? { name, opType, inputs, outputs: [name] }
        : { name, opType, inputs, outputs: [name], attributes }
    )
    return name
  }

  private transpose(value: Value, perm: ReadonlyArray<number>, suffix: string): string {
    const key = `${value.name}/${suffix}`
    let name = this.transposed.get(key)
    if (name === undefined) {
      name = this.emit("Transpose", [value.name], key, [["perm", Attr.ints(perm)]])
      this.transposed.set(key, name)
    }
    return name
  }

  /** The ONNX tensor holding `value` in its TF layout. */
  plain(value: Value): string {
    return value.layout === "plain" ? value.name : this.transpose(value, TO_NHWC, "nhwc")
  }

  /** The ONNX tensor holding a 4-D `value` as NCHW. */
  nchw(value: Value): string {
    if (value.layout === "nchw") return value.name
    if (value.shape.length !== 4) throw new InvalidModel({ reason: `${value.name} is not 4-D, cannot make it NCHW` })
    return this.transpose(value, TO_NCHW, "nchw")
  }

  /** A constant shaped to broadcast against a tensor of `rank` in `layout` (TF broadcasting aligns on the right). */
  constantFor(base: string, weight: Weight, data: Float32Array, rank: number, layout: Layout): string {
    const shape = [...new Array<number>(Math.max(0, rank - weight.shape.length)).fill(1), ...weight.shape]
    if (layout === "nchw" && shape.length === 4) {
      return this.tensor(
        base,
        "float32",
        TO_NCHW.map((p) => shape[p]!),
        transposeData(data, shape, TO_NCHW)
      )
    }
    return this.tensor(base, "float32", weight.shape, data)
  }
}
