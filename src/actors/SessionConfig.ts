/**
 * Settings of live sessions: socket limits, mailbox sizes, timers, scorer and keyframe tuning, and the options of
 * the inference pool the sessions use. A `Context.Reference`: the defaults apply unless a layer provides others
 * (tests, benchmarks).
 */
import { Context, Layer } from "effect"
import type { InferencePoolOptions } from "../inference/InferencePool.ts"
import { defaultKeyframeSettings, type KeyframeSettings } from "../pipeline/KeyframePolicy.ts"
import { defaultScorerSettings, type ScorerSettings } from "../pipeline/scorers/SessionScorer.ts"
import { defaultWriteBehindSettings, type WriteBehindSettings } from "../store/WriteBehind.ts"

export interface SessionSettings {
  /** Frames per second one candidate socket may send; more are refused with `rate_limited`. */
  readonly maxFps: number
  /** Frames waiting in a session's mailbox; when full the oldest is shed. */
  readonly mailboxFrames: number
  /** Control messages waiting in a session's mailbox; a client exceeding it is disconnected (never shed). */
  readonly mailboxControl: number
  /** Frames of one session being analysed at once. */
  readonly inFlightFrames: number
  /** A session without a socket for this long stops (its state is in its snapshot). */
  readonly passivateAfterMs: number
  /** A finished session without a socket stops after this long. */
  readonly finishedLingerMs: number
  /** How often a session snapshots its aggregates while frames flow. */
  readonly snapshotEveryMs: number
  readonly tickMs: number
  /** A session that fails more often than this within `restartWindowMs` stops instead of restarting. */
  readonly maxRestarts: number
  readonly restartWindowMs: number
  /** On stop: how long frames already accepted may take to be analysed. */
  readonly drainTimeoutMs: number
  /** Least time between two `slowDown` messages to one socket. */
  readonly slowDownEveryMs: number
  readonly maxPayloadBytes: number
  /** uWS idle timeout; automatic pings keep healthy sockets alive. */
  readonly idleTimeoutSeconds: number
  /** Hard limit uWS enforces per socket. */
  readonly maxBackpressureBytes: number
  /** Above this much unsent data, optional messages (analyses, scores) are skipped. */
  readonly softBackpressureBytes: number
  /** A socket that stays above the soft limit this long is closed. */
  readonly notReadingTimeoutMs: number
  /** Essential messages held for a socket that is not reading before it is closed. */
  readonly maxHeldMessages: number
  readonly maxControlPerSecond: number
  /** Invalid messages tolerated per 10 s before the socket is closed with 1008. */
  readonly maxErrorsPer10s: number
  /** Lifetime of the live hash after the last update. */
  readonly liveTtlSeconds: number
  readonly scorer: ScorerSettings
  readonly keyframes: KeyframeSettings
  readonly writeBehind: WriteBehindSettings
  readonly pool: Partial<InferencePoolOptions>
}

export const defaultSessionSettings: SessionSettings = {
  maxFps: 15,
  mailboxFrames: 8,
  mailboxControl: 256,
  inFlightFrames: 2,
  passivateAfterMs: 60_000,
  finishedLingerMs: 2_000,
  snapshotEveryMs: 5_000,
  tickMs: 1_000,
  maxRestarts: 3,
  restartWindowMs: 60_000,
  drainTimeoutMs: 5_000,
  slowDownEveryMs: 2_000,
  maxPayloadBytes: 2 * 1024 * 1024,
  idleTimeoutSeconds: 60,
  maxBackpressureBytes: 4 * 1024 * 1024,
  softBackpressureBytes: 256 * 1024,
  notReadingTimeoutMs: 30_000,
  maxHeldMessages: 500,
  maxControlPerSecond: 20,
  maxErrorsPer10s: 200,
  liveTtlSeconds: 24 * 3600,
  scorer: defaultScorerSettings,
  keyframes: defaultKeyframeSettings,
  writeBehind: defaultWriteBehindSettings,
  pool: {}
}

export const SessionConfig = Context.Reference<SessionSettings>("candor/SessionConfig", {
  defaultValue: () => defaultSessionSettings
})

/** Session settings with some defaults replaced. */
export const layer = (overrides: Partial<SessionSettings>) =>
  Layer.succeed(SessionConfig, { ...defaultSessionSettings, ...overrides })
