/**
 * Settings of uploaded-video analysis (`VIDEO_*`, `FFMPEG_PATH`). A `Context.Reference`: the defaults apply unless the
 * engine (from its configuration) or a test provides others.
 */
import { Context, Layer } from "effect"

export interface VideoSettings {
  /** Largest accepted upload. */
  readonly maxBytes: number
  /** Frames per second analysed: the rate the candidate page streams at, so an upload is scored like a live answer. */
  readonly fps: number
  /** Longer videos are refused (the job fails) before any frame is analysed. */
  readonly maxSeconds: number
  /** Longest one video's frame extraction and analysis may take before it is given up. */
  readonly timeoutMs: number
  /** Frames are shrunk to this longest side before analysis. */
  readonly maxSide: number
  /** Frames of one video being analysed at once (enough to keep the pool's workers busy). */
  readonly concurrency: number
  /** The ffmpeg binary; unset: the one the `@ffmpeg-installer/linux-x64` package installs. */
  readonly ffmpegPath: string | undefined
}

export const defaultVideoSettings: VideoSettings = {
  maxBytes: 200 * 1024 * 1024,
  fps: 5,
  maxSeconds: 3600,
  timeoutMs: 30 * 60_000,
  maxSide: 1280,
  concurrency: 4,
  ffmpegPath: undefined
}

export const VideoConfig = Context.Reference<VideoSettings>("candor/video/VideoConfig", {
  defaultValue: () => defaultVideoSettings
})

/** Video settings with some defaults replaced. */
export const layer = (overrides: Partial<VideoSettings>) =>
  Layer.succeed(VideoConfig, { ...defaultVideoSettings, ...overrides })
