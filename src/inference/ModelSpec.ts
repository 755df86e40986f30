/**
 * The fixed contract between the converted `.onnx` models and the code that runs them.
 * Every model takes NHWC float32 input named `input`; the batch dimension `N` is dynamic.
 */
import { EMOTIONS } from "../../schemas/Emotions.ts"

/** Face detector: 256×256 RGB in [-1,1]; 896 anchors, the 512 stride-16 anchors first, then the 384 stride-32. */
export const Blazeface = {
  file: "blazeface.onnx",
  input: "input",
  inputSize: 256,
  inputShape: [256, 256, 3],
  inputRange: [-1, 1],
  scores: "scores",
  boxes: "boxes",
  anchors: 896,
  /** 4 box regressors (cx, cy, w, h offsets) followed by 6 keypoints × (x, y). */
  boxValues: 16,
  keypoints: 6,
  /** Anchor grids in output order: [stride, grid size, anchors per cell]. */
  anchorGrids: [
    { stride: 16, grid: 16, perCell: 2 },
    { stride: 32, grid: 8, perCell: 6 }
  ]
} as const

/**
 * Face mesh: 192×192 RGB crop in [0,1]; 468 landmarks × xyz in crop pixels. The source graph's third head (lip and
 * eye contours) is left out of the build: nothing reads it, and without it a call costs 0.94× the CPU.
 */
export const FaceMesh = {
  file: "facemesh.onnx",
  input: "input",
  inputSize: 192,
  inputShape: [192, 192, 3],
  inputRange: [0, 1],
  mesh: "mesh",
  meshValues: 1404,
  landmarks: 468,
  /** Probability in [0,1] that the crop holds a face. */
  faceflag: "faceflag"
} as const

/**
 * Emotion classifier: 64×64 gray (0.2989 R + 0.5870 G + 0.1140 B in [0,1]), fed as (g − 0.5) × 2.
 * `cam` is the last convolution's per-class map before the global mean, NCHW [N, 7, camSize, camSize].
 */
export const EmotionNet = {
  file: "emotion.onnx",
  input: "input",
  inputSize: 64,
  inputShape: [64, 64, 1],
  inputRange: [-1, 1],
  grayWeights: [0.2989, 0.587, 0.114],
  probs: "probs",
  cam: "cam",
  camSize: 8,
  classes: EMOTIONS
} as const

/**
 * Optional iris model: 64×64 RGB eye crop. `landmarks` keeps the graph's [N,1,1,228] shape:
 * 71 eye-contour points then 5 iris points, each x, y, z in crop pixels.
 */
export const Iris = {
  file: "iris.onnx",
  input: "input",
  inputSize: 64,
  inputShape: [64, 64, 3],
  landmarks: "landmarks",
  values: 228
} as const
