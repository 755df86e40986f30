/**
 * A candidate as a browser would be one behind a load balancer: it streams frames, goes through its interview one
 * step at a time, and when its socket closes it reconnects to any node that is up and sends the step it has no
 * answer for again (as the candidate page does). It records how long it was without a working socket (one whose
 * frames are analysed): from a close to the first analysis on the next socket, and, on an open socket, the longest
 * wait between two analyses until the interview finished.
 */
import type { ServerMessage, SessionMessage } from "../../schemas/Protocol.ts"
import { Client } from "../sessions/support/Candidate.ts"
import type { Created, Node } from "./support.ts"

type Step =
  | { readonly _tag: "start" }
  | { readonly _tag: "answer"; readonly questionId: string; readonly text: string }
  | { readonly _tag: "next"; readonly fromQuestionId: string }
  | { readonly _tag: "finish" }

/** How long one connection attempt waits for its `session` before the driver tries another node. */
const SESSION_WAIT_MS = 30_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class CandidateDriver {
  /**
   * Longest time from a socket's close to the first analysis on the next socket: the candidate had no working
   * socket meanwhile.
   */
  maxReconnectMs = 0
  /**
   * Longest wait between two analyses on one open socket before the interview finished (it includes the interval
   * between two frames): on a socket whose session moves to another owner, the move shows here.
   */
  maxAnalysisGapMs = 0
  reconnects = 0
  /** Every wait between analyses over 2 s: when it ended, and how long it was. */
  readonly longGaps: Array<{ readonly endedAt: number; readonly ms: number; readonly during: string }> = []
  /** When each socket closed and the next session began (diagnostics). */
  readonly timeline: Array<string> = []
  /** Answer ids the server acknowledged, by question. */
  readonly saved = new Map<string, string>()
  finished = false
  /** The interview has finished: analyses no longer come, and their absence means nothing. */
  private over = false
  private client: Client | undefined
  private pending: Step | undefined
  private acked = false
  private seq = 0
  private stopped = false
  private loop: Promise<void> | undefined

  get interviewId(): string {
    return this.created.interviewId
  }

  constructor(
    private readonly created: Created,
    private readonly nodes: () => ReadonlyArray<Node>,
    private readonly jpeg: Uint8Array,
    /** Which of the nodes up it tries first (spreads candidates over the nodes). */
    private readonly offset = 0,
    private readonly frameEveryMs = 500
  ) {}

  start(): void {
    this.loop = this.connectLoop()
  }

  /** Runs the interview's five steps, each once acknowledged; `pause(k)` is waited before step k. */
  async run(pause: (step: number) => Promise<void>): Promise<void> {
    const [q1, q2] = this.created.questions as [{ id: string }, { id: string }]
    const steps: Array<Step> = [
      { _tag: "start" },
      { _tag: "answer", questionId: q1.id, text: "Sharded by tenant, measured, then sharded again." },
      { _tag: "next", fromQuestionId: q1.id },
      { _tag: "answer", questionId: q2.id, text: "Rolled back first, asked why second." },
      { _tag: "finish" }
    ]
    for (const [k, step] of steps.entries()) {
      await pause(k)
      this.pending = step
      this.acked = false
      this.client?.send(step)
      const deadline = Date.now() + 60_000
      while (!this.acked) {
        if (Date.now() > deadline) throw new Error(`no acknowledgement of ${JSON.stringify(step)} within 60 s`)
        await sleep(50)
      }
    }
    this.finished = true
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.client?.close()
    await this.loop
  }

  private pick(attempt: number): Node {
    const up = this.nodes()
    return up[(this.offset + attempt + this.reconnects) % up.length]!
  }

  private async connectLoop(): Promise<void> {
    let closedAt: number | undefined
    let attempt = 0
    while (!this.stopped && !this.finished) {
      const node = this.pick(attempt++)
      let client: Client | undefined
      try {
        client = await Client.candidate(node.engine.wsUrl, this.created.interviewId, this.created.candidateToken)
        // As the candidate page does, the socket is given its time (the wait counts as time without one): giving
        // up early and connecting again would only queue the same session start twice.
        await client.next("session", 0, SESSION_WAIT_MS)
      } catch (error) {
        client?.close()
        // A finished interview takes no socket: a `finish` whose reply was lost with its socket took effect.
        if ((error as { status?: number }).status === 409 && this.pending?._tag === "finish") {
          this.acked = true
          return
        }
        await sleep(200)
        continue
      }
      this.timeline.push(`${new Date().toISOString()} session via ${node.name}`)
      if (closedAt !== undefined) this.reconnects++
      this.client = client
      await this.serve(client, closedAt)
      this.client = undefined
      closedAt = Date.now()
      this.timeline.push(`${new Date().toISOString()} closed ${JSON.stringify(client.closed)}`)
    }
  }

  /**
   * Streams frames on `client` and watches its messages until it closes. `closedAt`: when the previous socket
   * closed, so the wait until this one's first analysis counts as time without a working socket.
   */
  private async serve(client: Client, closedAt: number | undefined): Promise<void> {
    let seen = 0
    let lastAnalysis: number | undefined
    let sessions = 0
    /** What arrived since the last analysis (message tags, errors by code): what a long wait was made of. */
    let during = new Map<string, number>()
    const send = () => {
      if (client.closed === undefined) client.sendFrame(this.seq++, this.jpeg)
    }
    // The first frame goes at once, as the candidate page's does once its session starts.
    send()
    const frames = setInterval(send, this.frameEveryMs)
    try {
      while (client.closed === undefined && !this.stopped) {
        await client
          .until((c) => c.messages.length > seen || c.closed !== undefined, "a message", 60_000)
          .catch(() => {})
        for (const m of client.messages.slice(seen)) {
          if (m._tag === "finished" || (m._tag === "error" && m.code === "finished")) this.over = true
          if (m._tag === "analysis" && !this.over) {
            const now = Date.now()
            if (lastAnalysis === undefined) {
              if (closedAt !== undefined) this.maxReconnectMs = Math.max(this.maxReconnectMs, now - closedAt)
            } else {
              this.maxAnalysisGapMs = Math.max(this.maxAnalysisGapMs, now - lastAnalysis)
              if (now - lastAnalysis > 2_000)
                this.longGaps.push({
                  endedAt: now,
                  ms: now - lastAnalysis,
                  during: [...during].map(([k, n]) => `${k}×${n}`).join(" ")
                })
            }
            lastAnalysis = now
            during = new Map()
          } else {
            const k = m._tag === "error" ? `error:${m.code}` : m._tag
            during.set(k, (during.get(k) ?? 0) + 1)
          }
          if (m._tag === "session") {
            if (sessions++ > 0 && lastAnalysis !== undefined)
              this.timeline.push(
                `${new Date().toISOString()} resumed ${Date.now() - lastAnalysis} ms after the last analysis`
              )
            this.seq = Math.max(this.seq, m.lastSeq + 1)
            // A resumed session that already shows the step done acknowledges it; one that does not gets it again.
            if (this.pending !== undefined && !this.acked && !this.settledBy(m)) client.send(this.pending)
          }
          this.observe(m)
        }
        seen = client.messages.length
        if (this.finished) break
      }
    } finally {
      clearInterval(frames)
    }
  }

  private settledBy(m: SessionMessage): boolean {
    const step = this.pending
    if (step === undefined) return true
    switch (step._tag) {
      case "start":
        return m.status !== "waiting"
      case "answer":
        return m.answered.includes(step.questionId)
      case "next":
        return m.question !== null && m.question.questionId !== step.fromQuestionId
      case "finish":
        return m.status === "finished"
    }
  }

  private observe(m: ServerMessage): void {
    const step = this.pending
    if (m._tag === "session" && this.settledBy(m)) this.acked = true
    if (step === undefined) return
    if (m._tag === "answerSaved") this.saved.set(m.questionId, m.answerId)
    if (step._tag === "start" && m._tag === "question") this.acked = true
    if (step._tag === "answer" && m._tag === "answerSaved" && m.questionId === step.questionId) this.acked = true
    if (step._tag === "answer" && m._tag === "error" && m.code === "already_answered") this.acked = true
    if (step._tag === "next" && m._tag === "question" && m.questionId !== step.fromQuestionId) this.acked = true
    if (step._tag === "finish" && m._tag === "finished") this.acked = true
  }
}
