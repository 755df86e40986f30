/**
 * Blinks from the eye aspect ratio (EAR) of successive frames. Eyes count as closing when EAR drops below
 * `closeBelow` and as open again only above `openAbove` (hysteresis: a noisy EAR near one threshold cannot
 * count a blink twice). A closure counts as a blink when it lasted between `minClosedMs` (shorter is landmark
 * jitter) and `maxClosedMs` (longer is eyes kept shut, not a blink). Duration is measured from the first
 * closed frame to the first reopened one, so at low frame rates one closed frame still yields a blink.
 */

export interface BlinkSettings {
  readonly closeBelow: number
  readonly openAbove: number
  readonly minClosedMs: number
  readonly maxClosedMs: number
  /** Trailing span for the blink rate. */
  readonly rateWindowMs: number
  /** Below this much observed time the rate is not reported. */
  readonly minRateSpanMs: number
}

export const defaultBlinkSettings: BlinkSettings = {
  closeBelow: 0.2,
  openAbove: 0.24,
  minClosedMs: 50,
  maxClosedMs: 700,
  rateWindowMs: 60_000,
  minRateSpanMs: 10_000
}

export interface BlinkState {
  readonly closedSince: number | null
  readonly lastAt: number | null
  readonly firstFaceAt: number | null
  readonly total: number
  /** Capture times of the blinks within the rate window. */
  readonly recent: ReadonlyArray<number>
}

export const emptyBlinkState: BlinkState = { closedSince: null, lastAt: null, firstFaceAt: null, total: 0, recent: [] }

export class BlinkDetector {
  private closedSince: number | null
  private lastAt: number | null
  private firstFaceAt: number | null
  private totalCount: number
  private readonly recent: Array<number>

  constructor(
    private readonly settings: BlinkSettings = defaultBlinkSettings,
    state: BlinkState = emptyBlinkState
  ) {
    this.closedSince = state.closedSince
    this.lastAt = state.lastAt
    this.firstFaceAt = state.firstFaceAt
    this.totalCount = state.total
    this.recent = [...state.recent]
  }

  get total(): number {
    return this.totalCount
  }

  /**
   * Feeds one frame: its capture time and mean EAR (undefined when no face is visible, which cancels a closure
   * in progress). Returns the blink's duration in ms when this frame completes one, otherwise -1. Frames older
   * than the last one seen are ignored.
   */
  observe(at: number, ear: number | undefined): number {
    if (this.lastAt !== null && at < this.lastAt) return -1
    this.lastAt = at
    if (ear === undefined || !Number.isFinite(ear)) {
      this.closedSince = null
      return -1
    }
    if (this.firstFaceAt === null) this.firstFaceAt = at
    if (this.closedSince === null) {
      if (ear < this.settings.closeBelow) this.closedSince = at
      return -1
    }
    if (ear <= this.settings.openAbove) return -1
    const duration = at - this.closedSince
    this.closedSince = null
    if (duration < this.settings.minClosedMs || duration > this.settings.maxClosedMs) return -1
    this.totalCount++
    this.recent.push(at)
    this.prune(at)
    return duration
  }

  /** Blinks per minute over the trailing window at `at`, or null while too little was observed. */
  perMinute(at: number): number | null {
    if (this.firstFaceAt === null) return null
    const span = Math.min(this.settings.rateWindowMs, at - this.firstFaceAt)
    if (span < this.settings.minRateSpanMs) return null
    this.prune(at)
    return (this.recent.length * 60_000) / span
  }

  snapshot(): BlinkState {
    return {
      closedSince: this.closedSince,
      lastAt: this.lastAt,
      firstFaceAt: this.firstFaceAt,
      total: this.totalCount,
      recent: [...this.recent]
    }
  }

  private prune(at: number) {
    const from = at - this.settings.rateWindowMs
    let drop = 0
    while (drop < this.recent.length && this.recent[drop]! < from) drop++
    if (drop > 0) this.recent.splice(0, drop)
  }
}
