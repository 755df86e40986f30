/** Messages between the LoadGenerator (main thread) and its worker threads. */

export interface CandidateSpec {
  readonly interviewId: string
  readonly token: string
  /** Questions in the interview: the candidate answers each, then stops sending `next`. */
  readonly questions: number
  /** Mean think time before answering a question. */
  readonly answerAfterMs: number
  /** The node this candidate connects to (ws or wss base URL); absent: the worker's `url`. */
  readonly url?: string
}

export type CandidateMode =
  | { readonly _tag: "Paced"; readonly fps: number }
  /** Send the next frame as soon as one is answered, keeping `window` in flight: measures throughput. */
  | { readonly _tag: "ClosedLoop"; readonly window: number }
  /** Connected and started, sending nothing. */
  | { readonly _tag: "Idle" }

export interface LoadWorkerData {
  readonly url: string
  readonly clips: ReadonlyArray<ReadonlyArray<Uint8Array>>
  readonly lossTimeoutMs: number
  readonly seed: number
}

export type LoadCommand =
  | { readonly _tag: "Add"; readonly candidates: ReadonlyArray<CandidateSpec>; readonly mode: CandidateMode }
  | { readonly _tag: "Stop"; readonly finish: boolean }

/** Everything since the previous tick. Times are ms since the epoch (sub-ms precision) on the worker's clock. */
export interface LoadTick {
  readonly _tag: "Tick"
  readonly at: number
  /** capturedAt of each frame sent. */
  readonly sent: Float64Array
  /** Pairs: capturedAt, send lateness in ms (how far behind its schedule the frame left). */
  readonly lateness: Float64Array
  readonly skipped: Float64Array
  /** Triples: capturedAt, frame→analysis latency ms, faces in the analysis. */
  readonly analysed: Float64Array
  readonly lost: Float64Array
  /** capturedAt of frames answered with an error (shed, rate limited...). */
  readonly rejected: Float64Array
  /** Worker event-loop delay over the tick, ms. */
  readonly loopDelayP99: number
  readonly loopDelayMax: number
  readonly open: number
  /** capturedAt of the oldest frame sent and not answered yet (nor counted lost), or null when none is. */
  readonly oldestPending: number | null
  readonly events: Readonly<Record<string, number>>
}

export type LoadReport =
  | LoadTick
  | { readonly _tag: "Added"; readonly opened: number; readonly refused: number }
  | { readonly _tag: "Stopped" }
