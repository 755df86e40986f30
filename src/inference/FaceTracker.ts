import type { EmotionScores } from "../../schemas/FrameAnalysis.ts"
import { scatter } from "../Scatter.ts"
import { type FaceRegion, regionIoU } from "./FaceRegion.ts"

/** The emotion last measured on a tracked face and how many frames ago. */
export interface TrackedEmotion {
  readonly scores: EmotionScores
  readonly age: number
}

/**
 * Per-session tracking state (MediaPipe's approach): the regions the face mesh found in the last frame and the
 * frames since the detector last ran. It is plain data that travels with each task, so any worker can continue
 * a session and the workers keep no state of their own.
 */
export interface TrackState {
  readonly sinceDetect: number
  readonly faces: ReadonlyArray<FaceRegion>
  /** Per entry of `faces`, its last measured emotion (null: none known); absent when affect is off. */
  readonly emotions?: ReadonlyArray<TrackedEmotion | null>
}

/**
 * Whether a tracked face needs the emotion model this frame: nothing is known of it yet, or `emotionEvery`
 * frames have passed since it was measured (1 = every frame).
 */
export const emotionDue = (carried: TrackedEmotion | null, emotionEvery: number): boolean =>
  carried === null || carried.age + 1 >= emotionEvery

/** Regions overlapping more than this are the same face (MediaPipe's association threshold). */
export const SAME_FACE_IOU = 0.5

/**
 * Whether this frame needs the detector: nothing is tracked, or `detectEvery` frames have passed (new faces
 * can only enter through the detector). `detectEvery` 1 detects on every frame.
 */
export const detectionDue = (state: TrackState | null, detectEvery: number): boolean =>
  state === null || state.faces.length === 0 || state.sinceDetect + 1 >= detectEvery

/**
 * Regions to run the mesh on when the detector ran: tracked regions win over detections of the same face
 * (they are centred on last frame's landmarks, which beats a fresh box), new detections fill up to `maxFaces`.
 * `detected` must be ordered best first.
 */
export const mergeRegions = (
  tracked: ReadonlyArray<FaceRegion>,
  detected: ReadonlyArray<FaceRegion>,
  maxFaces: number
): Array<FaceRegion> => {
  const out = tracked.slice(0, maxFaces)
  for (const region of detected) {
    if (out.length >= maxFaces) break
    if (out.every((r) => regionIoU(r, region) <= SAME_FACE_IOU)) out.push(region)
  }
  return out
}

/**
 * Drops faces that converged onto another (a tracked region and a new detection can end up on one face) and
 * keeps at most `maxFaces`, the better-scored ones winning. Survivors stay in their input order, so a tracked
 * face keeps its position from frame to frame.
 */
export const dedupeFaces = <A extends { readonly region: FaceRegion; readonly score: number }>(
  faces: ReadonlyArray<A>,
  maxFaces: number
): Array<A> => {
  const kept: Array<A> = []
  for (const face of [...faces].sort((a, b) => b.score - a.score)) {
    if (kept.length >= maxFaces) break
    if (kept.every((f) => regionIoU(f.region, face.region) <= SAME_FACE_IOU)) kept.push(face)
  }
  return faces.filter((f) => kept.includes(f))
}

/**
 * Where a newly found face starts in its detection cycle, in frames: the capture time scattered over the first
 * half of the cycle. Sessions that start together (a load test, interviews booked for the same minute) would
 * otherwise all run the detector on the same frames, every `detectEvery` frames, as one burst the workers queue
 * behind; scattered, each session still runs it at least every `detectEvery` frames.
 */
export const detectionPhase = (capturedAt: number, detectEvery: number): number =>
  detectEvery < 4 ? 0 : Math.floor(scatter(capturedAt) * Math.floor(detectEvery / 2))

export const nextTrackState = (
  previous: TrackState | null,
  detectorRan: boolean,
  faces: ReadonlyArray<FaceRegion>,
  emotions?: ReadonlyArray<TrackedEmotion | null>,
  /** Frames into the detection cycle a face found now starts at (`detectionPhase`). */
  phase = 0
): TrackState => ({
  sinceDetect:
    !detectorRan && previous !== null
      ? previous.sinceDetect + 1
      : previous === null || previous.faces.length === 0
        ? phase
        : 0,
  faces,
  ...(emotions === undefined ? {} : { emotions })
})
