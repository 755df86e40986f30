/**
 * How each shipped TFJS model becomes an ONNX file that honours the contract in ModelSpec.ts:
 * which TF tensors become which named outputs, and the fixes a graph needs (dynamic batch, joined
 * anchor outputs, class-activation maps).
 */
import { Blazeface, EmotionNet, FaceMesh, Iris } from "../ModelSpec.ts"
import type { OutputSpec } from "./Convert.ts"
import { InvalidModel } from "./ConverterError.ts"
import type { SignatureTensor, TfjsGraph } from "./TfjsGraph.ts"

/** The models `candor models --only` accepts (a plain list, so the command line knows it without the converter). */
export const MODEL_NAMES = ["emotion", "blazeface", "facemesh", "iris"] as const
export type ModelName = (typeof MODEL_NAMES)[number]

export interface Recipe {
  readonly model: ModelName
  readonly file: string
  readonly licence: string
  readonly origin: string
  readonly optional: boolean
  readonly dynamicBatch: boolean
  readonly outputs: (graph: TfjsGraph) => ReadonlyArray<OutputSpec>
}

const byLastDim = (graph: TfjsGraph, last: number): ReadonlyArray<SignatureTensor> =>
  graph.outputs.filter((o) => o.shape[o.shape.length - 1] === last)

const single = (graph: TfjsGraph, model: string, test: (o: SignatureTensor) => boolean): string => {
  const found = graph.outputs.filter(test)
  if (found.length !== 1)
    throw new InvalidModel({ reason: `${model}: expected one matching output, found ${found.length}` })
  return found[0]!.node
}

/** Follows Identity / Reshape back from `name` to see whether the value already went through a Sigmoid. */
export const endsInSigmoid = (graph: TfjsGraph, name: string): boolean => {
  const node = graph.byName.get(name)
  if (node === undefined) return false
  if (node.op === "Sigmoid") return true
  return (node.op === "Identity" || node.op === "Reshape") && endsInSigmoid(graph, node.inputs[0]!)
}

/** The two detector heads (stride 16: 512 anchors, stride 32: 384) in contract order. */
const anchorOrder = (graph: TfjsGraph, last: number): ReadonlyArray<string> => {
  const heads = [...byLastDim(graph, last)].sort((a, b) => b.shape[1]! - a.shape[1]!)
  const counts = heads.map((h) => h.shape[1])
  if (counts.join(",") !== "512,384") {
    throw new InvalidModel({ reason: `blazeface: heads with last dimension ${last} have ${counts.join(",")} anchors` })
  }
  return heads.map((h) => h.node)
}

const MEDIAPIPE = "Apache-2.0 (Google MediaPipe)"

export const RECIPES: ReadonlyArray<Recipe> = [
  {
    model: "emotion",
    file: EmotionNet.file,
    licence: "MIT (oarriaga/face_classification)",
    origin: "https://github.com/oarriaga/face_classification",
    optional: false,
    dynamicBatch: true,
    outputs: (graph) => {
      const probs = single(graph, "emotion", (o) => o.shape[o.shape.length - 1] === EmotionNet.classes.length)
      // The net ends conv → global mean → softmax: the conv's per-class maps are the class-activation maps.
      const mean = graph.nodes.find((n) => n.op === "Mean")
      if (mean === undefined) throw new InvalidModel({ reason: "emotion: no global mean before the softmax" })
      return [
        { name: EmotionNet.probs, sources: [probs] },
        { name: EmotionNet.cam, sources: [mean.inputs[0]!], layout: "nchw" }
      ]
    }
  },
  {
    model: "blazeface",
    file: Blazeface.file,
    licence: MEDIAPIPE,
    origin: "https://github.com/google/mediapipe",
    optional: false,
    dynamicBatch: true,
    outputs: (graph) => [
      { name: Blazeface.scores, sources: anchorOrder(graph, 1), concatAxis: 1 },
      { name: Blazeface.boxes, sources: anchorOrder(graph, Blazeface.boxValues), concatAxis: 1 }
    ]
  },
  {
    model: "facemesh",
    file: FaceMesh.file,
    licence: MEDIAPIPE,
    origin: "https://github.com/google/mediapipe",
    optional: false,
    dynamicBatch: true,
    outputs: (graph) => {
      const faceflag = single(graph, "facemesh", (o) => o.shape[o.shape.length - 1] === 1)
      return [
        { name: FaceMesh.mesh, sources: [single(graph, "facemesh", (o) => o.shape[1] === FaceMesh.meshValues)] },
        { name: FaceMesh.faceflag, sources: [faceflag], sigmoid: !endsInSigmoid(graph, faceflag) }
      ]
    }
  },
  {
    model: "iris",
    file: Iris.file,
    licence: MEDIAPIPE,
    origin: "https://github.com/google/mediapipe",
    optional: true,
    dynamicBatch: true,
    outputs: (graph) => [
      { name: Iris.landmarks, sources: [single(graph, "iris", (o) => o.shape[o.shape.length - 1] === Iris.values)] }
    ]
  }
]
