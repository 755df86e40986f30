/**
 * TFJS graph → ONNX model. Only nodes that feed the requested outputs are converted, in a fixed
 * depth-first order, so the same graph and options always give the same bytes.
 */
import { Effect } from "effect"
import { InvalidModel, UnsupportedOp } from "./ConverterError.ts"
import { GraphBuilder, TO_NCHW, type Value } from "./GraphBuilder.ts"
import { Attr, type Dim, encodeModel, type Model, type ValueInfo } from "./OnnxModel.ts"
import { OPS } from "./Ops.ts"
import { Attrs, type TfjsGraph } from "./TfjsGraph.ts"

export interface OutputSpec {
  readonly name: string
  /** TF tensors (node names); several are joined along `concatAxis` (a TF axis, default 1) in the order given. */
  readonly sources: ReadonlyArray<string>
  readonly concatAxis?: number
  /** `nchw` emits a 4-D image tensor channels-first; by default an output keeps its TF layout. */
  readonly layout?: "tf" | "nchw"
  /** Appends a Sigmoid, for graphs that end in logits where the contract wants a probability. */
  readonly sigmoid?: boolean
}

export interface ConvertOptions {
  readonly graphName: string
  readonly inputName: string
  /** Treat the batch dimension as dynamic even where the graph fixed it to 1 (input and Reshape targets). */
  readonly dynamicBatch: boolean
  readonly outputs: ReadonlyArray<OutputSpec>
  readonly producerVersion: string
  readonly docString?: string
  readonly metadata?: ReadonlyArray<readonly [string, string]>
}

const BATCH: Dim = "N"

const topologicalOrder = (graph: TfjsGraph, roots: ReadonlyArray<string>): ReadonlyArray<string> => {
  const order: Array<string> = []
  const state = new Map<string, "open" | "done">()
  const visit = (name: string): void => {
    const mark = state.get(name)
    if (mark === "done") return
    if (mark === "open") throw new InvalidModel({ reason: `cycle through ${name}` })
    const node = graph.byName.get(name)
    if (node === undefined) throw new InvalidModel({ reason: `no node named ${name}` })
    state.set(name, "open")
    for (const input of node.inputs) visit(input)
    state.set(name, "done")
    order.push(name)
  }
  for (const root of roots) visit(root)
  return order
}

const dims = (shape: ReadonlyArray<number>): ReadonlyArray<Dim> => shape.map((d) => (d < 0 ? BATCH : d))

const placeholder = (b: GraphBuilder, options: ConvertOptions, name: string, inputs: Array<ValueInfo>): void => {
  const node = b.node(name)
  const declared = Attrs.shape(node, "shape")
  if (declared === undefined || declared.some((d, i) => d < 0 && i > 0)) {
    throw new InvalidModel({ reason: `input ${name} needs a static shape apart from the batch` })
  }
  const shape = options.dynamicBatch ? [-1, ...declared.slice(1)] : declared
  const input = inputs.length === 0 ? options.inputName : b.unique(name)
  b.set(name, { name: input, layout: "plain", shape })
  inputs.push({ name: input, type: "float32", shape: dims(shape) })
}

const output = (b: GraphBuilder, spec: OutputSpec): ValueInfo => {
  const parts = spec.sources.map((s) => b.get(s))
  let value: Value
  if (parts.length === 1) {
    value = parts[0]!
  } else {
    const axis = spec.concatAxis ?? 1
    const shape = parts[0]!.shape.map((d, i) => (i === axis ? parts.reduce((sum, p) => sum + p.shape[i]!, 0) : d))
    const name = b.emit(
      "Concat",
      parts.map((p) => b.plain(p)),
      `${spec.name}/concat`,
      [["axis", Attr.int(axis)]]
    )
    value = { name, layout: "plain", shape }
  }
  const nchw = spec.layout === "nchw"
  const source = nchw ? b.nchw(value) : b.plain(value)
  const shape = nchw ? TO_NCHW.map((p) => value.shape[p]!) : value.shape
  b.nodes.push({
    name: spec.name,
    opType: spec.sigmoid === true ? "Sigmoid" : "Identity",
    inputs: [source],
    outputs: [spec.name]
  })
  return { name: spec.name, type: "float32", shape: dims(shape) }
}

/** Builds the ONNX model; throws `UnsupportedOp` / `InvalidModel`. */
export const convertGraph = (graph: TfjsGraph, options: ConvertOptions): Model => {
  const b = new GraphBuilder(graph, options.dynamicBatch)
  for (const reserved of [options.inputName, ...options.outputs.map((o) => o.name)]) b.unique(reserved)
  const inputs: Array<ValueInfo> = []
  for (const name of topologicalOrder(
    graph,
    options.outputs.flatMap((o) => o.sources)
  )) {
    const node = b.node(name)
    if (node.op === "Const") continue
    if (node.op === "Placeholder") {
      placeholder(b, options, name, inputs)
      continue
    }
    const handler = OPS[node.op]
    if (handler === undefined) throw new UnsupportedOp({ op: node.op, node: node.name })
    b.set(name, handler(b, node))
  }
  const outputs = options.outputs.map((spec) => output(b, spec))
  return {
    producerName: "candor",
    producerVersion: options.producerVersion,
    docString: options.docString ?? "",
    metadata: options.metadata ?? [],
    graph: { name: options.graphName, nodes: b.nodes, initializers: b.initializers, inputs, outputs }
  }
}

export interface Converted {
  readonly bytes: Uint8Array
  readonly inputs: ReadonlyArray<ValueInfo>
  readonly outputs: ReadonlyArray<ValueInfo>
}

/** Converts and serialises; conversion failures stay typed. */
export const convert = (
  graph: TfjsGraph,
  options: ConvertOptions
): Effect.Effect<Converted, UnsupportedOp | InvalidModel> =>
  Effect.try({
    try: () => {
      const model = convertGraph(graph, options)
      return { bytes: encodeModel(model), inputs: model.graph.inputs, outputs: model.graph.outputs }
    },
    catch: (cause) =>
      cause instanceof UnsupportedOp || cause instanceof InvalidModel
        ? cause
        : new InvalidModel({ reason: `conversion failed: ${String(cause)}` })
  })
