/**
 * The pool runs the detector and the face mesh one item per call (`oneByOne`): a batch must come back exactly
 * as onnxruntime's own batched call returns it, item for item and in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { DEFAULT_MODELS_DIR, ensureModels } from "../../src/inference/ModelBuilder.ts"
import { Blazeface, FaceMesh } from "../../src/inference/ModelSpec.ts"
import { type FaceModels, loadOnnxModels, oneByOne } from "../../src/inference/OnnxModels.ts"

/** `n` items of `shape`, each different (item k is a shifted wave), so that a swapped pair shows. */
const items = (shape: ReadonlyArray<number>, n: number) => {
  const size = shape.reduce((a, b) => a * b, 1)
  return Float32Array.from({ length: n * size }, (_, i) => Math.sin(i * 0.0007 + Math.floor(i / size) * 1.3) * 0.9)
}

let batched: FaceModels
let single: FaceModels

beforeAll(async () => {
  await ensureModels()
  batched = await loadOnnxModels(DEFAULT_MODELS_DIR, { oneByOne: false })
  single = await loadOnnxModels(DEFAULT_MODELS_DIR)
})
afterAll(async () => {
  await batched?.release()
  await single?.release()
})

const expectClose = (actual: Float32Array, expected: Float32Array) => {
  expect(actual.length).toBe(expected.length)
  const scale = expected.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-6)
  let worst = 0
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!))
  expect(worst / scale).toBeLessThan(1e-4)
}

describe("loadOnnxModels, one item per call", () => {
  it("gives the face mesh's batched outputs, item by item", async () => {
    const input = items(FaceMesh.inputShape, 3)
    const [a, b] = [await batched.mesh(input, 3), await single.mesh(input, 3)]
    expect(b.faceflag.length).toBe(3)
    expectClose(b.mesh, a.mesh)
    expectClose(b.faceflag, a.faceflag)
    // The items differ, so this would catch outputs joined out of order.
    expect(Math.abs(b.mesh[0]! - b.mesh[FaceMesh.meshValues]!)).toBeGreaterThan(1e-3)
  })

  it("gives the detector's batched outputs, item by item", async () => {
    const input = items(Blazeface.inputShape, 2)
    const [a, b] = [await batched.detect(input, 2), await single.detect(input, 2)]
    expectClose(b.scores, a.scores)
    expectClose(b.boxes, a.boxes)
  })

  it("joins every output of each call in item order", async () => {
    const calls: Array<number> = []
    const out = await oneByOne(new Float32Array([1, 2, 3, 4, 5, 6]), 3, [2], async (input, n) => {
      calls.push(n)
      return { sum: new Float32Array([input[0]! + input[1]!]), pair: input.slice(0, 2) }
    })
    expect(calls).toEqual([1, 1, 1])
    expect([...out.sum]).toEqual([3, 7, 11])
    expect([...out.pair]).toEqual([1, 2, 3, 4, 5, 6])
  })
})
