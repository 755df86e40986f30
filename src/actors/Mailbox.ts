/**
 * A SessionActor's mailbox, with an explicit overflow policy per kind of message:
 * - internal messages (socket attach/detach, analysis results, ticks) are never refused; they are bounded by
 *   construction (one per socket event, per frame in flight, per tick);
 * - control messages (candidate commands) are never shed: when `controlCapacity` are waiting, `offerControl`
 *   refuses and the caller disconnects the client that floods it;
 * - frames are volatile: when `frameCapacity` are waiting, the oldest is shed and handed back to be counted.
 * The actor takes internal messages first, then control, then frames, and only asks for frames when it can
 * process one.
 */
import { Effect } from "effect"

export class Mailbox<I, C, F> {
  private readonly internal: Array<I> = []
  private readonly control: Array<C> = []
  private readonly frames: Array<F> = []
  private waiter: (() => void) | undefined
  private waiterTakesFrames = false
  shedFrames = 0

  constructor(
    private readonly controlCapacity: number,
    private readonly frameCapacity: number
  ) {}

  offerInternal(message: I): void {
    this.internal.push(message)
    this.wake(false)
  }

  /** False when the control queue is full (the message is not queued). */
  offerControl(message: C): boolean {
    if (this.control.length >= this.controlCapacity) return false
    this.control.push(message)
    this.wake(false)
    return true
  }

  /** Queues a frame; returns the frame shed to make room, if one was. */
  offerFrame(frame: F): F | undefined {
    let shed: F | undefined
    if (this.frames.length >= this.frameCapacity) {
      shed = this.frames.shift()
      this.shedFrames++
    }
    this.frames.push(frame)
    this.wake(true)
    return shed
  }

  pollInternal(): I | undefined {
    return this.internal.shift()
  }

  pollControl(): C | undefined {
    return this.control.shift()
  }

  pollFrame(): F | undefined {
    return this.frames.shift()
  }

  /** Whether something can be taken (frames only if `takesFrames`). */
  ready(takesFrames: boolean): boolean {
    return this.internal.length > 0 || this.control.length > 0 || (takesFrames && this.frames.length > 0)
  }

  get size(): number {
    return this.internal.length + this.control.length + this.frames.length
  }

  get queuedFrames(): number {
    return this.frames.length
  }

  /** Completes when `ready(takesFrames)` holds. One waiter at a time: the actor. */
  waitFor(takesFrames: boolean): Effect.Effect<void> {
    if (this.ready(takesFrames)) return Effect.void
    return takesFrames ? this.waitAny : this.waitNoFrames
  }

  // Built once: the actor waits after every message it takes.
  private readonly waitAny = this.waiting(true)
  private readonly waitNoFrames = this.waiting(false)

  private waiting(takesFrames: boolean): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      this.waiterTakesFrames = takesFrames
      this.waiter = () => resume(Effect.void)
      return Effect.sync(() => {
        this.waiter = undefined
      })
    })
  }

  private wake(isFrame: boolean) {
    if (this.waiter === undefined || (isFrame && !this.waiterTakesFrames)) return
    const w = this.waiter
    this.waiter = undefined
    w()
  }
}
