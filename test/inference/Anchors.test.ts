import { describe, expect, it } from "@effect/vitest"
import { makeAnchors } from "../../src/inference/Anchors.ts"

describe("Anchors", () => {
  const anchors = makeAnchors()

  it("has 896 anchors: 512 on the 16×16 grid, then 384 on the 8×8 grid", () => {
    expect(anchors.length).toBe(896 * 2)
    // first cell of the 16×16 grid, twice
    expect([anchors[0], anchors[1], anchors[2], anchors[3]]).toEqual([0.5 / 16, 0.5 / 16, 0.5 / 16, 0.5 / 16])
    // second cell moves along x
    expect([anchors[4], anchors[5]]).toEqual([1.5 / 16, 0.5 / 16])
    // last anchor of the first grid: cell (15, 15)
    expect([anchors[511 * 2], anchors[511 * 2 + 1]]).toEqual([15.5 / 16, 15.5 / 16])
    // first anchor of the second grid: cell (0, 0) of 8×8, six times
    for (let k = 512; k < 518; k++) expect([anchors[k * 2], anchors[k * 2 + 1]]).toEqual([0.5 / 8, 0.5 / 8])
    expect([anchors[518 * 2], anchors[518 * 2 + 1]]).toEqual([1.5 / 8, 0.5 / 8])
    expect([anchors[895 * 2], anchors[895 * 2 + 1]]).toEqual([7.5 / 8, 7.5 / 8])
  })
})
