/**
 * Dynamic batching in front of a fixed number of task slots: items from any caller wait in one bounded FIFO
 * and leave as a batch when a slot is free and either `maxBatch` items are waiting or the oldest has waited
 * `maxDelayMs`. While every slot is busy the queue simply grows, so batches get bigger exactly when load is
 * high and stay at one item (no added latency beyond `maxDelayMs`) when it is low.
 */
export interface BatcherOptions {
  readonly maxBatch: number
  readonly maxDelayMs: number
  /** Items waiting beyond this are refused (`submit` returns null). */
  readonly maxQueue: number
  /** Batches running at once (one per worker). */
  readonly maxInFlight: number
}

interface Entry<I, O> {
  readonly item: I
  readonly done: (outcome: O) => void
  readonly at: number
  state: "queued" | "running" | "cancelled"
}

export class FrameBatcher<I, O> {
  private queue: Array<Entry<I, O>> = []
  private running = 0
  private runningItems = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private closed = false

  constructor(
    private readonly options: BatcherOptions,
    /** Runs one batch; resolves with one outcome per item, in order. */
    private readonly run: (items: ReadonlyArray<I>) => Promise<ReadonlyArray<O>>,
    /** Outcome for each item of a batch whose run rejected. */
    private readonly onRunError: (error: unknown, item: I) => O,
    private readonly onBatch: (size: number) => void = () => undefined,
    private readonly now: () => number = () => performance.now()
  ) {}

  get queued(): number {
    return this.queue.length
  }
  get inFlightBatches(): number {
    return this.running
  }
  get inFlightItems(): number {
    return this.runningItems
  }

  /**
   * Queues an item; `done` is called once with its outcome. Returns a cancel function — it takes the item out of
   * the queue if it has not left yet, otherwise only discards the outcome — or null when the queue is full.
   */
  submit(item: I, done: (outcome: O) => void): (() => void) | null {
    if (this.closed || this.queue.length >= this.options.maxQueue) return null
    const entry: Entry<I, O> = { item, done, at: this.now(), state: "queued" }
    this.queue.push(entry)
    this.pump()
    return () => {
      if (entry.state === "queued") {
        const i = this.queue.indexOf(entry)
        if (i >= 0) this.queue.splice(i, 1)
      }
      entry.state = "cancelled"
    }
  }

  /** Refuses new items and settles every queued one with `outcome`; running batches finish normally. */
  close(outcome: (item: I) => O): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    const queued = this.queue
    this.queue = []
    for (const entry of queued) {
      entry.state = "cancelled"
      entry.done(outcome(entry.item))
    }
  }

  private pump(): void {
    while (!this.closed && this.running < this.options.maxInFlight && this.queue.length > 0) {
      const waited = this.now() - this.queue[0]!.at
      if (this.queue.length < this.options.maxBatch && waited < this.options.maxDelayMs) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined
          this.pump()
        }, this.options.maxDelayMs - waited)
        return
      }
      this.dispatch(this.queue.splice(0, this.options.maxBatch))
    }
  }

  private dispatch(batch: Array<Entry<I, O>>): void {
    this.running++
    this.runningItems += batch.length
    for (const entry of batch) entry.state = "running"
    this.onBatch(batch.length)
    const settle = (outcomes: ReadonlyArray<O>) => {
      this.running--
      this.runningItems -= batch.length
      batch.forEach((entry, i) => {
        if (entry.state === "running") entry.done(outcomes[i]!)
      })
      this.pump()
    }
    this.run(batch.map((e) => e.item)).then(
      (outcomes) => settle(outcomes),
      (error) => settle(batch.map((e) => this.onRunError(error, e.item)))
    )
  }
}
