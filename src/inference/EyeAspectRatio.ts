/**
 * Eye aspect ratio (Soukupová & Čech, 2016) from face-mesh landmarks: (|p2−p6| + |p3−p5|) / (2·|p1−p4|), where
 * p1/p4 are the eye corners and p2,p3 / p6,p5 the upper and lower lid. Open eyes give ≈ 0.25–0.35, closed < 0.2.
 */

/** Mesh indices p1…p6 of each eye, in the formula's order. */
export const LEFT_EYE: readonly number[] = [33, 160, 158, 133, 153, 144]
export const RIGHT_EYE: readonly number[] = [362, 385, 387, 263, 373, 380]

export interface EyeAspect {
  readonly left: number
  readonly right: number
  readonly mean: number
}

const distance = (mesh: ArrayLike<number>, a: number, b: number): number =>
  Math.hypot(mesh[a * 3]! - mesh[b * 3]!, mesh[a * 3 + 1]! - mesh[b * 3 + 1]!)

/** EAR of one eye from landmarks stored as xyz triples; 0 for a degenerate eye (corners coincide). */
export const eyeAspectRatio = (mesh: ArrayLike<number>, eye: readonly number[]): number => {
  const [p1, p2, p3, p4, p5, p6] = eye as [number, number, number, number, number, number]
  const width = distance(mesh, p1, p4)
  return width > 0 ? (distance(mesh, p2, p6) + distance(mesh, p3, p5)) / (2 * width) : 0
}

export const eyeAspect = (mesh: ArrayLike<number>): EyeAspect => {
  const left = eyeAspectRatio(mesh, LEFT_EYE)
  const right = eyeAspectRatio(mesh, RIGHT_EYE)
  return { left, right, mean: (left + right) / 2 }
}
