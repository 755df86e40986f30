/**
 * One simulated candidate, behaving like the browser client: opens the candidate WebSocket, says `start`, streams
 * its clip as JPEG frames at a fixed rate (or closed-loop), answers each question after a while, obeys
 * `slowDown`, and records what happened to every frame it offered.
 */
import WebSocket from "ws"
import {
  decodeServerMessage,
  encodeFrame,
  encodeMessage,
  type QuestionMessage,
  recordConsents
} from "./CandidateProtocol.ts"
import type { CandidateMode, CandidateSpec } from "./LoadProtocol.ts"

/** Where a candidate reports; one per worker thread, shared by all its candidates. */
export interface CandidateSink {
  readonly now: () => number
  /** Offered and sent; `capturedAt` identifies the frame. */
  sent(capturedAt: number, lateMs: number): void
  /** Offered but not sent: throttled by `slowDown`, or the socket's send buffer was full. */
  skipped(capturedAt: number): void
  analysed(capturedAt: number, latencyMs: number, faces: number): void
  /** Answered with an error instead of an analysis (shed, rate limited...); `code` is the error code. */
  rejected(capturedAt: number, code: string): void
  /** Sent and never answered (socket closed, or no answer within the loss timeout). */
  lost(capturedAt: number): void
  event(name: string): void
}

const ANSWERS = [
  "We profiled first, found the database was the bottleneck, added a read replica and a queue in front of writes.",
  "I asked for a prototype of both options, we measured them for a week and picked the simpler one.",
  "We shed load at the edge with a token bucket and degraded the least important features first."
]

/** A browser stops queueing video when the socket cannot keep up; so does the bench. */
const MAX_BUFFERED_BYTES = 1 << 20

export class SimulatedCandidate {
  private socket: WebSocket | undefined
  private readonly pending = new Map<number, number>()
  private seq = 0
  private frame: number
  private timer: NodeJS.Timeout | undefined
  private nextDue = 0
  private allowedFps: number
  /** The rate without a `slowDown` in force: the mode's fps capped by the session's `maxFps`. */
  private baseFps: number
  private recoverTimer: NodeJS.Timeout | undefined
  private lastSentAt = Number.NEGATIVE_INFINITY
  private answered = 0
  /** Questions whose answer is scheduled or sent (a resumed session repeats its current question). */
  private readonly answering = new Set<string>()
  private attempts = 0
  private sessionTimer: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private streaming = false
  private stopped = false
  private readonly answerTimers = new Set<NodeJS.Timeout>()
  /** Closed loop: frames owed because answers came back, waiting for the rate the engine allows. */
  private owed = 0
  private pumpTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly url: string,
    private readonly spec: CandidateSpec,
    private readonly mode: CandidateMode,
    private readonly clip: ReadonlyArray<Uint8Array>,
    private readonly sink: CandidateSink,
    private readonly random: () => number
  ) {
    this.frame = Math.floor(random() * clip.length)
    this.allowedFps = mode._tag === "Paced" ? mode.fps : Number.POSITIVE_INFINITY
    this.baseFps = this.allowedFps
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN
  }

  /** Resolves once open (true) or refused (false). Later drops are reconnected, as a browser client would. */
  connect(): Promise<boolean> {
    return recordConsents(this.url, this.spec.interviewId, this.spec.token).then((consented) => {
      if (!consented) {
        this.sink.event("refused:consent")
        return false
      }
      return new Promise((resolve) => this.dial(resolve))
    })
  }

  private dial(settle?: (opened: boolean) => void): void {
    const url = `${this.url}/v1/interviews/${encodeURIComponent(this.spec.interviewId)}/stream?token=${encodeURIComponent(this.spec.token)}`
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 30_000 })
    this.socket = socket
    let opened = false
    socket.on("open", () => {
      opened = true
      this.attempts = 0
      this.sink.event(settle === undefined ? "reconnected" : "opened")
      // The engine says where the interview stands first (`session`); one that does not is sent `start` anyway.
      this.sessionTimer = setTimeout(() => this.sendControl({ _tag: "start" }), 1000)
      settle?.(true)
    })
    // With this listener ws leaves the refused request to us: end it, or nothing would settle.
    socket.on("unexpected-response", (req, res) => {
      this.sink.event(`refused:${res.statusCode ?? "?"}`)
      req.destroy()
      socket.emit("close", 1006, Buffer.alloc(0))
    })
    socket.on("message", (data, isBinary) => {
      if (!isBinary) this.onText(data.toString())
    })
    socket.on("error", () => {
      if (!opened) this.sink.event("connectFailed")
    })
    socket.once("close", (code) => {
      if (this.stopped) return
      if (!opened && settle !== undefined) {
        this.halt()
        settle(false)
        return
      }
      if (opened) this.sink.event(`closedByServer:${code}`)
      this.pause()
      if (this.attempts >= 6) {
        this.sink.event("gaveUp")
        this.halt()
        return
      }
      this.reconnectTimer = setTimeout(() => this.dial(), 250 * 2 ** this.attempts++)
    })
  }

  private sendControl(message: Parameters<typeof encodeMessage>[0]): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(encodeMessage(message))
  }

  private begin(): void {
    const mode = this.mode
    if (this.streaming || mode._tag === "Idle") return
    this.streaming = true
    if (mode._tag === "ClosedLoop") {
      this.owed = mode.window
      this.pump()
      return
    }
    // Random phase, so candidates do not all send in the same millisecond.
    this.nextDue = this.sink.now() + this.random() * (1000 / mode.fps)
    this.schedule()
  }

  private schedule(): void {
    const mode = this.mode
    if (this.stopped || mode._tag !== "Paced") return
    const interval = 1000 / mode.fps
    const wait = Math.max(0, this.nextDue - this.sink.now())
    this.timer = setTimeout(() => {
      const due = this.nextDue
      this.nextDue += interval
      const now = this.sink.now()
      // A candidate that fell more than a second behind skips ahead instead of bursting.
      if (now - this.nextDue > 1000) this.nextDue = now + interval
      // Throttled (slowDown or the session's maxFps): the camera keeps producing, the client drops what it must.
      const throttled = this.allowedFps < mode.fps && now - this.lastSentAt < 1000 / this.allowedFps - 1
      if (throttled) this.sink.skipped(now)
      else this.send(now - due)
      this.schedule()
    }, wait)
  }

  /** As the protocol advises: at most `maxFps` for about 10 s, then one more frame per second each second. */
  private slowDown(maxFps: number): void {
    this.allowedFps = Math.min(maxFps, this.baseFps)
    if (this.recoverTimer !== undefined) clearTimeout(this.recoverTimer)
    const recover = (delay: number) => {
      this.recoverTimer = setTimeout(() => {
        this.recoverTimer = undefined
        if (this.stopped) return
        this.allowedFps = Math.min(this.baseFps, Math.floor(this.allowedFps) + 1)
        if (this.allowedFps < this.baseFps) recover(1000)
      }, delay)
    }
    recover(10_000)
  }

  /** Closed loop: sends the owed frames as fast as the engine's `maxFps` allows. */
  private pump(): void {
    if (this.stopped || this.pumpTimer !== undefined) return
    while (this.owed > 0) {
      const wait = this.lastSentAt + 1000 / this.allowedFps - this.sink.now()
      if (wait > 0) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = undefined
          this.pump()
        }, wait)
        return
      }
      this.owed--
      this.send(0)
    }
  }

  private another(): void {
    if (this.mode._tag !== "ClosedLoop") return
    this.owed++
    this.pump()
  }

  private send(lateMs: number): void {
    const socket = this.socket
    if (this.stopped || socket === undefined || socket.readyState !== WebSocket.OPEN) return
    const capturedAt = this.sink.now()
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.sink.skipped(capturedAt)
      return
    }
    const seq = this.seq++
    const jpeg = this.clip[this.frame++ % this.clip.length]!
    this.pending.set(seq, capturedAt)
    this.lastSentAt = capturedAt
    socket.send(encodeFrame(seq, capturedAt, jpeg))
    this.sink.sent(capturedAt, lateMs)
  }

  private onText(text: string): void {
    const message = decodeServerMessage(text)
    switch (message._tag) {
      case "analysis": {
        const sentAt = this.pending.get(message.seq)
        if (sentAt === undefined) {
          this.sink.event("unexpectedAnalysis")
          return
        }
        this.pending.delete(message.seq)
        this.sink.analysed(sentAt, this.sink.now() - message.capturedAt, message.faces.length)
        if (message.capturedAt !== sentAt) this.sink.event("capturedAtMismatch")
        this.another()
        return
      }
      case "session":
        clearTimeout(this.sessionTimer)
        // A browser streams no faster than the engine asks; offered frames beyond that count as skipped.
        if (message.maxFps > 0) {
          this.baseFps = Math.min(this.baseFps, message.maxFps)
          this.allowedFps = Math.min(this.allowedFps, this.baseFps)
        }
        if (message.status === "waiting") this.sendControl({ _tag: "start" })
        else if (message.question !== null) this.onQuestion(message.question)
        return
      case "question":
        this.onQuestion(message)
        return
      case "slowDown":
        this.sink.event("slowDown")
        if (message.maxFps > 0) this.slowDown(message.maxFps)
        return
      case "error": {
        const sentAt = message.seq === undefined ? undefined : this.pending.get(message.seq)
        if (sentAt === undefined) {
          this.sink.event(`error:${message.code}`)
          return
        }
        this.pending.delete(message.seq!)
        this.sink.rejected(sentAt, message.code)
        this.another()
        return
      }
      case "answerSaved":
        this.sink.event("answerSaved")
        return
      case "finished":
        this.sink.event("finished")
        return
      case "pong":
        return
      case "other":
        this.sink.event(`message:${message.tag}`)
    }
  }

  private onQuestion(question: QuestionMessage): void {
    this.sink.event("question")
    this.begin()
    const count = question.count ?? this.spec.questions
    if (this.answering.has(question.questionId)) return
    this.answering.add(question.questionId)
    const timer = setTimeout(
      () => {
        this.answerTimers.delete(timer)
        const socket = this.socket
        if (this.stopped || socket === undefined || socket.readyState !== WebSocket.OPEN) {
          this.answering.delete(question.questionId)
          return
        }
        const text = ANSWERS[this.answered++ % ANSWERS.length]!
        socket.send(encodeMessage({ _tag: "answer", questionId: question.questionId, text }))
        this.sink.event("answered")
        // After the last answer the candidate stays on camera (the bench measures streaming, not reports).
        if (question.index + 1 < count) {
          socket.send(encodeMessage({ _tag: "next", fromQuestionId: question.questionId }))
        }
      },
      this.spec.answerAfterMs * (0.75 + this.random() / 2)
    )
    this.answerTimers.add(timer)
  }

  /** capturedAt of the oldest frame sent and not answered yet (frames wait in the order they were sent). */
  oldestPending(): number | undefined {
    for (const sentAt of this.pending.values()) return sentAt
    return undefined
  }

  /** Frames unanswered for longer than `timeoutMs` count as lost (closed-loop candidates then send again). */
  expire(timeoutMs: number): void {
    const limit = this.sink.now() - timeoutMs
    for (const [seq, sentAt] of this.pending) {
      if (sentAt >= limit) break
      this.pending.delete(seq)
      this.sink.lost(sentAt)
      this.another()
    }
  }

  /** The socket is gone: stop streaming; frames in flight will never be answered. */
  private pause(): void {
    this.streaming = false
    this.owed = 0
    clearTimeout(this.timer)
    clearTimeout(this.pumpTimer)
    this.pumpTimer = undefined
    clearTimeout(this.sessionTimer)
    for (const t of this.answerTimers) clearTimeout(t)
    this.answerTimers.clear()
    this.answering.clear()
    for (const sentAt of this.pending.values()) this.sink.lost(sentAt)
    this.pending.clear()
  }

  private halt(): void {
    this.stopped = true
    this.pause()
    clearTimeout(this.recoverTimer)
    clearTimeout(this.reconnectTimer)
  }

  /** Stops streaming; `finish` ends the interview first (the engine then builds its report). */
  close(finish: boolean): Promise<void> {
    const socket = this.socket
    this.halt()
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return Promise.resolve()
    if (socket.readyState === WebSocket.CONNECTING) {
      socket.terminate()
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate()
        resolve()
      }, 2000)
      socket.once("close", () => {
        clearTimeout(timer)
        resolve()
      })
      if (socket.readyState === WebSocket.OPEN && finish) socket.send(encodeMessage({ _tag: "finish" }))
      socket.close(1000)
    })
  }
}
