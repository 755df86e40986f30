/** Messages between PeerRunner and its Human workers. */

export interface PeerSettings {
  /** Human's default caching (true) or none at all (false). */
  readonly caching: boolean
  /** The JPEG frames of the clip this worker plays, in order, looping. */
  readonly frames: ReadonlyArray<Uint8Array>
}

/** Sent once every worker is Ready, so all cores start measuring together. */
export type PeerCommand = { readonly _tag: "Go"; readonly warmupMs: number; readonly durationMs: number }

export type PeerReport =
  | { readonly _tag: "Ready"; readonly version: string }
  | {
      readonly _tag: "Done"
      readonly frames: number
      readonly seconds: number
      /** Faces found over all measured frames (≈ frames when Human sees the one face of each frame). */
      readonly faces: number
      /** Frames whose first face came with emotions. */
      readonly emotions: number
      readonly perFrameMs: ReadonlyArray<number>
      readonly backend: string
      /** Live tfjs tensors after the run (a leak would grow this between runs). */
      readonly tensors: number
    }
  | { readonly _tag: "Failed"; readonly message: string }
