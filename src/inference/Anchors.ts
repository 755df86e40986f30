import { Blazeface } from "./ModelSpec.ts"

/**
 * Anchor centres of the face detector, normalised to [0,1] of its square input, in output order
 * (x0, y0, x1, y1, …). The detector uses fixed-size anchors, so only the centres matter.
 */
export const makeAnchors = (grids: typeof Blazeface.anchorGrids = Blazeface.anchorGrids): Float32Array => {
  const total = grids.reduce((n, g) => n + g.grid * g.grid * g.perCell, 0)
  const out = new Float32Array(total * 2)
  let i = 0
  for (const { grid, perCell } of grids) {
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        for (let k = 0; k < perCell; k++) {
          out[i++] = (x + 0.5) / grid
          out[i++] = (y + 0.5) / grid
        }
      }
    }
  }
  return out
}
