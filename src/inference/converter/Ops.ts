/**
 * One translation per TF op. Each handler reads the TF node, emits ONNX nodes through the builder and
 * returns the converted value with its TF shape, so the next handler knows sizes and layout.
 */
import { InvalidModel, UnsupportedOp } from "./ConverterError.ts"
import { type GraphBuilder, TO_NCHW, TO_NHWC, transposeData, type Value } from "./GraphBuilder.ts"
import { Attr } from "./OnnxModel.ts"
import { Attrs, type TfNode, type Weight } from "./TfjsGraph.ts"

export type OpHandler = (b: GraphBuilder, node: TfNode) => Value

const unsupported = (node: TfNode, detail: string): UnsupportedOp =>
  new UnsupportedOp({ op: node.op, node: node.name, detail })

const requireNhwc = (node: TfNode): void => {
  const format = Attrs.string(node, "data_format")
  if (format !== undefined && format !== "NHWC") throw unsupported(node, `data_format ${format}`)
}

const spatial = (node: TfNode, key: string): [number, number] => {
  const v = Attrs.ints(node, key) ?? [1, 1, 1, 1]
  if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) throw unsupported(node, `${key} ${v.join(",")}`)
  return [v[1]!, v[2]!]
}

interface Window {
  readonly pads: ReadonlyArray<number>
  readonly out: [number, number]
}

/** Explicit ONNX pads matching TF's SAME (extra padding at the end, like SAME_UPPER) or VALID. */
const window = (node: TfNode, size: ReadonlyArray<number>, kernel: ReadonlyArray<number>): Window => {
  const strides = spatial(node, "strides")
  const dilations = node.op === "MaxPool" || node.op === "AvgPool" ? [1, 1] : spatial(node, "dilations")
  const padding = Attrs.string(node, "padding") ?? "VALID"
  const begin: Array<number> = []
  const end: Array<number> = []
  const out: Array<number> = []
  for (let i = 0; i < 2; i++) {
    const extent = (kernel[i]! - 1) * dilations[i]! + 1
    if (padding === "SAME") {
      const o = Math.ceil(size[i]! / strides[i]!)
      const total = Math.max((o - 1) * strides[i]! + extent - size[i]!, 0)
      begin.push(Math.floor(total / 2))
      end.push(total - Math.floor(total / 2))
      out.push(o)
    } else if (padding === "VALID") {
      begin.push(0)
      end.push(0)
      out.push(Math.floor((size[i]! - extent) / strides[i]!) + 1)
    } else if (padding === "EXPLICIT") {
      const explicit = Attrs.ints(node, "explicit_paddings") ?? []
      const b0 = explicit[2 + 2 * i] ?? 0
      const e0 = explicit[3 + 2 * i] ?? 0
      begin.push(b0)
      end.push(e0)
      out.push(Math.floor((size[i]! + b0 + e0 - extent) / strides[i]!) + 1)
    } else {
      throw unsupported(node, `padding ${padding}`)
    }
  }
  return { pads: [...begin, ...end], out: [out[0]!, out[1]!] }
}

const spatialAttrs = (node: TfNode, kernel: ReadonlyArray<number>, w: Window) => {
  const attrs: Array<readonly [string, ReturnType<typeof Attr.ints>]> = [
    ["kernel_shape", Attr.ints(kernel)],
    ["strides", Attr.ints(spatial(node, "strides"))],
    ["pads", Attr.ints(w.pads)]
  ]
  if (node.op !== "MaxPool" && node.op !== "AvgPool") attrs.push(["dilations", Attr.ints(spatial(node, "dilations"))])
  return attrs
}

/** One weight per channel of an NCHW tensor: `w[c]·x[c]`, as a 1×1 depthwise convolution. */
const scaleChannels = (b: GraphBuilder, x: string, weights: Float32Array, base: string): string =>
  b.emit("Conv", [x, b.tensor(`${base}/weights`, "float32", [weights.length, 1, 1, 1], weights)], base, [
    ["kernel_shape", Attr.ints([1, 1])],
    ["group", Attr.int(weights.length)]
  ])

/** The PRelu slopes as one value per channel, or undefined when alpha varies along another axis. */
const slopePerChannel = (alpha: Weight, channels: number): Float32Array | undefined => {
  if (channels <= 0 || alpha.shape.slice(0, -1).some((d) => d !== 1)) return undefined
  if (alpha.data.length === channels) return Float32Array.from(alpha.data)
  return alpha.data.length === 1 ? new Float32Array(channels).fill(alpha.data[0]!) : undefined
}

/**
 * PRelu. On an NCHW tensor: x + (1 − alpha)·relu(−x), written as two 1×1 depthwise convolutions (by −1, then
 * Relu; by 1 − alpha, then + x). onnxruntime's NCHWc layout pass (graph optimisation level "all", x86) runs
 * both in its blocked layout, fuses the Relu and the Add into them and keeps the residual Adds around them
 * fused into the convolutions; Min/Mul/Add (or its PRelu) have no blocked kernel, so every block went back to
 * NCHW and forth (see bench/RESULTS.md). Elsewhere
 * x + (alpha − 1)·min(x, 0), which is faster than onnxruntime's PRelu kernel.
 */
const prelu = (b: GraphBuilder, x: Value, alpha: Weight, base: string): Value => {
  const slopes = x.layout === "nchw" && x.shape.length === 4 ? slopePerChannel(alpha, x.shape[3]!) : undefined
  if (slopes !== undefined) {
    const negated = scaleChannels(b, x.name, new Float32Array(slopes.length).fill(-1), `${base}/negated`)
    const below = b.emit("Relu", [negated], `${base}/below`)
    const oneMinusAlpha = Float32Array.from(slopes, (a) => 1 - a)
    const scaled = scaleChannels(b, below, oneMinusAlpha, `${base}/scaled`)
    return { ...x, name: b.emit("Add", [scaled, x.name], base) }
  }
  const alphaMinusOne = Float32Array.from(alpha.data, (a) => a - 1)
  const slope = b.constantFor(`${base}/alpha_minus_one`, alpha, alphaMinusOne, x.shape.length, x.layout)
  const negative = b.emit("Min", [x.name, b.scalar(0)], `${base}/negative`)
  const scaled = b.emit("Mul", [negative, slope], `${base}/scaled`)
  return { ...x, name: b.emit("Add", [x.name, scaled], base) }
}

const activation = (b: GraphBuilder, node: TfNode, kind: string, x: Value, arg: Weight | undefined): Value => {
  switch (kind) {
    case "Relu":
      return { ...x, name: b.emit("Relu", [x.name], `${node.name}/relu`) }
    case "Relu6":
      return { ...x, name: b.emit("Clip", [x.name, b.scalar(0), b.scalar(6)], `${node.name}/relu6`) }
    case "Prelu":
      if (arg === undefined) throw new InvalidModel({ reason: `${node.name}: fused Prelu without alpha` })
      return prelu(b, x, arg, `${node.name}/prelu`)
    default:
      throw unsupported(node, `fused op ${kind}`)
  }
}

const convolution =
  (depthwise: boolean): OpHandler =>
  (b, node) => {
    requireNhwc(node)
    const x = b.get(node.inputs[0]!)
    if (x.shape.length !== 4) throw new InvalidModel({ reason: `${node.name}: input is not 4-D` })
    const w = b.requireWeight(node, 1)
    const [kh, kw, cin, cm] = w.shape as [number, number, number, number]
    const kernel = [kh, kw]
    const outChannels = depthwise ? cin * cm : cm
    // Depthwise [H,W,C,M] → [C·M,1,H,W]: output channel c·M+m of group c, the same order TF uses.
    const weights = depthwise
      ? transposeData(w.data as Float32Array, [kh, kw, cin * cm], [2, 0, 1])
      : transposeData(w.data as Float32Array, w.shape, [3, 2, 0, 1])
    const weightName = b.tensor(
      `${node.inputs[1]}/${depthwise ? "depthwise_oihw" : "oihw"}`,
      "float32",
      depthwise ? [outChannels, 1, kh, kw] : [outChannels, cin, kh, kw],
      weights
    )
    const fused = node.op.includes("Fused") ? Attrs.strings(node, "fused_ops") : []
    const args = node.inputs.slice(2).map((_, i) => b.requireWeight(node, i + 2))
    let rest = fused
    const inputs = [b.nchw(x), weightName]
    if (rest[0] === "BiasAdd") {
      inputs.push(b.tensor(`${node.inputs[2]}/bias`, "float32", [outChannels], args[0]!.data as Float32Array))
      rest = rest.slice(1)
    }
    if (rest.length > 1) throw unsupported(node, `fused ops ${fused.join(",")}`)
    const win = window(node, [x.shape[1]!, x.shape[2]!], kernel)
    const attrs = spatialAttrs(node, kernel, win)
    if (depthwise) attrs.push(["group", Attr.int(cin)])
    const base = rest.length === 0 ? node.name : `${node.name}/conv`
    const conv: Value = {
      name: b.emit("Conv", inputs, base, attrs),
      layout: "nchw",
      shape: [x.shape[0]!, win.out[0], win.out[1], outChannels]
    }
    return rest.length === 0 ? conv : activation(b, node, rest[0]!, conv, args[1])
  }

const pool =
  (onnxOp: "MaxPool" | "AveragePool"): OpHandler =>
  (b, node) => {
    requireNhwc(node)
    const x = b.get(node.inputs[0]!)
    const ksize = spatial(node, "ksize")
    const win = window(node, [x.shape[1]!, x.shape[2]!], ksize)
    const attrs = spatialAttrs(node, ksize, win)
    // TF's SAME average excludes the padding from the count.
    if (onnxOp === "AveragePool") attrs.push(["count_include_pad", Attr.int(0)])
    return {
      name: b.emit(onnxOp, [b.nchw(x)], node.name, attrs),
      layout: "nchw",
      shape: [x.shape[0]!, win.out[0], win.out[1], x.shape[3]!]
    }
  }

const broadcast = (a: ReadonlyArray<number>, c: ReadonlyArray<number>): ReadonlyArray<number> => {
  const rank = Math.max(a.length, c.length)
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1
    const y = c[c.length - rank + i] ?? 1
    return x === 1 ? y : x
  })
}

const binary =
  (onnxOp: string): OpHandler =>
  (b, node) => {
    const [left, right] = node.inputs as [string, string]
    const lw = b.weight(left)
    const rw = b.weight(right)
    if (lw === undefined && rw !== undefined) {
      const x = b.get(left)
      const c = b.constantFor(right, rw, rw.data as Float32Array, x.shape.length, x.layout)
      return { ...x, name: b.emit(onnxOp, [x.name, c], node.name), shape: broadcast(x.shape, rw.shape) }
    }
    if (lw !== undefined && rw === undefined) {
      const x = b.get(right)
      const c = b.constantFor(left, lw, lw.data as Float32Array, x.shape.length, x.layout)
      return { ...x, name: b.emit(onnxOp, [c, x.name], node.name), shape: broadcast(lw.shape, x.shape) }
    }
    const l = b.get(left)
    const r = b.get(right)
    const shape = broadcast(l.shape, r.shape)
    if (l.shape.length === 4 && r.shape.length === 4 && (l.layout === "nchw" || r.layout === "nchw")) {
      return { name: b.emit(onnxOp, [b.nchw(l), b.nchw(r)], node.name), layout: "nchw", shape }
    }
    return { name: b.emit(onnxOp, [b.plain(l), b.plain(r)], node.name), layout: "plain", shape }
  }

const unary =
  (onnxOp: string): OpHandler =>
  (b, node) => {
    const x = b.get(node.inputs[0]!)
    return { ...x, name: b.emit(onnxOp, [x.name], node.name) }
  }

const relu6: OpHandler = (b, node) => {
  const x = b.get(node.inputs[0]!)
  return { ...x, name: b.emit("Clip", [x.name, b.scalar(0), b.scalar(6)], node.name) }
}

const preluOp: OpHandler = (b, node) => prelu(b, b.get(node.inputs[0]!), b.requireWeight(node, 1), node.name)

const identity: OpHandler = (b, node) => b.get(node.inputs[0]!)

/**
 * Zero channels appended (or prepended) to an NCHW tensor, as a 1×1 convolution by [0; I; 0]: onnxruntime keeps
 * that in its blocked layout, where a Pad would take the residual branch (and all that follows) back to NCHW.
 */
const padChannels = (b: GraphBuilder, node: TfNode, x: Value, before: number, after: number): Value => {
  const cin = x.shape[3]!
  const cout = before + cin + after
  const weights = new Float32Array(cout * cin)
  for (let c = 0; c < cin; c++) weights[(before + c) * cin + c] = 1
  const kernel = b.tensor(`${node.inputs[1]}/embed`, "float32", [cout, cin, 1, 1], weights)
  return {
    name: b.emit("Conv", [x.name, kernel], node.name, [["kernel_shape", Attr.ints([1, 1])]]),
    layout: "nchw",
    shape: [x.shape[0]!, x.shape[1]!, x.shape[2]!, cout]
  }
}

const pad: OpHandler = (b, node) => {
  const x = b.get(node.inputs[0]!)
  const paddings = b.requireWeight(node, 1).data
  const rank = x.shape.length
  const value = node.op === "PadV2" ? (b.requireWeight(node, 2).data[0] ?? 0) : 0
  const channelsOnly = rank === 4 && paddings.slice(0, 6).every((p) => p === 0) && x.shape[3]! > 0
  if (x.layout === "nchw" && channelsOnly && value === 0) return padChannels(b, node, x, paddings[6]!, paddings[7]!)
  const order = x.layout === "nchw" ? TO_NCHW : Array.from({ length: rank }, (_, i) => i)
  const begins = order.map((axis) => paddings[axis * 2]!)
  const ends = order.map((axis) => paddings[axis * 2 + 1]!)
  const inputs = [x.name, b.int64(`${node.inputs[1]}/pads`, [...begins, ...ends])]
  if (node.op === "PadV2") inputs.push(b.scalar(value))
  const shape = x.shape.map((d, i) => (d < 0 ? d : d + paddings[i * 2]! + paddings[i * 2 + 1]!))
  return { ...x, name: b.emit("Pad", inputs, node.name, [["mode", Attr.string("constant")]]), shape }
}

/** True when NCHW and NHWC order the non-unit dimensions alike, so a Reshape may read either. */
const sameMemoryOrder = (shape: ReadonlyArray<number>): boolean => {
  const kept = TO_NCHW.filter((axis) => shape[axis] !== 1)
  return kept.every((axis, i) => i === 0 || axis > kept[i - 1]!)
}

const inferReshape = (node: TfNode, input: ReadonlyArray<number>, target: ReadonlyArray<number>) => {
  const wildcard = target.indexOf(-1)
  if (wildcard < 0) return target
  if (input[0] === -1 && wildcard === 0) return target
  if (input.every((d) => d >= 0)) {
    const fixed = target.reduce((p, d) => (d === -1 ? p : p * d), 1)
    return target.map((d) => (d === -1 ? input.reduce((p, q) => p * q, 1) / fixed : d))
  }
  throw new InvalidModel({ reason: `${node.name}: cannot infer the Reshape output shape` })
}

const reshape: OpHandler = (b, node) => {
  const x = b.get(node.inputs[0]!)
  const target = Array.from(b.requireWeight(node, 1).data)
  // A graph exported with batch 1 hard-codes it in Reshape targets; -1 there makes the batch dynamic again.
  if (b.dynamicBatch && x.shape[0] === -1 && target[0] === 1 && target.length > 1) target[0] = -1
  const shape = inferReshape(node, x.shape, target)
  const source = x.layout === "nchw" && sameMemoryOrder(x.shape) ? x.name : b.plain(x)
  return {
    name: b.emit("Reshape", [source, b.int64(`${node.inputs[1]}/int64`, target)], node.name),
    layout: "plain",
    shape
  }
}

const reduceMean: OpHandler = (b, node) => {
  const x = b.get(node.inputs[0]!)
  const rank = x.shape.length
  const axes = Array.from(b.requireWeight(node, 1).data, (a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q)
  const keep = Attrs.bool(node, "keep_dims") ?? false
  const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i))
  const attrs = (list: ReadonlyArray<number>) =>
    [
      ["axes", Attr.ints(list)],
      ["keepdims", Attr.int(keep ? 1 : 0)]
    ] as const
  if (x.layout === "nchw") {
    const nchwAxes = axes.map((a) => TO_NHWC[a]!).sort((p, q) => p - q)
    const remaining = TO_NCHW.filter((a) => !axes.includes(a))
    const ordered = remaining.every((a, i) => i === 0 || a > remaining[i - 1]!)
    if (keep || ordered) {
      return {
        name: b.emit("ReduceMean", [x.name], node.name, attrs(nchwAxes)),
        layout: keep ? "nchw" : "plain",
        shape
      }
    }
  }
  return { name: b.emit("ReduceMean", [b.plain(x)], node.name, attrs(axes)), layout: "plain", shape }
}

const softmax: OpHandler = (b, node) => {
  const x = b.get(node.inputs[0]!)
  const axis = x.layout === "nchw" ? 1 : -1
  return { ...x, name: b.emit("Softmax", [x.name], node.name, [["axis", Attr.int(axis)]]) }
}

const concat: OpHandler = (b, node) => {
  const parts = node.inputs.slice(0, -1).map((i) => b.get(i))
  const rank = parts[0]!.shape.length
  const raw = b.requireWeight(node, node.inputs.length - 1).data[0]!
  const axis = raw < 0 ? raw + rank : raw
  const shape = parts[0]!.shape.map((d, i) => (i === axis ? parts.reduce((sum, p) => sum + p.shape[i]!, 0) : d))
  if (parts.every((p) => p.layout === "nchw")) {
    const names = parts.map((p) => p.name)
    return { name: b.emit("Concat", names, node.name, [["axis", Attr.int(TO_NHWC[axis]!)]]), layout: "nchw", shape }
  }
  const names = parts.map((p) => b.plain(p))
  return { name: b.emit("Concat", names, node.name, [["axis", Attr.int(axis)]]), layout: "plain", shape }
}

/** TF op name → translation. Ops missing here fail the conversion with `UnsupportedOp`. */
export const OPS: Readonly<Record<string, OpHandler>> = {
  Identity: identity,
  Conv2D: convolution(false),
  _FusedConv2D: convolution(false),
  DepthwiseConv2dNative: convolution(true),
  FusedDepthwiseConv2dNative: convolution(true),
  MaxPool: pool("MaxPool"),
  AvgPool: pool("AveragePool"),
  Add: binary("Add"),
  AddV2: binary("Add"),
  Sub: binary("Sub"),
  Mul: binary("Mul"),
  Maximum: binary("Max"),
  Minimum: binary("Min"),
  Relu: unary("Relu"),
  Relu6: relu6,
  Sigmoid: unary("Sigmoid"),
  Tanh: unary("Tanh"),
  Prelu: preluOp,
  Pad: pad,
  PadV2: pad,
  Reshape: reshape,
  Mean: reduceMean,
  Softmax: softmax,
  ConcatV2: concat
}
