/**
 * A candidate as a browser would be one behind a load balancer: it streams frames, goes through its interview one
 * step at a time, and when its socket closes it reconnects to any node that is up and sends the step it has no
 * answer for again (as the candidate page does). It records how long it was without a working socket: from a
 * close to the next `session`, and, on an open socket, the longest wait between two analyses.
 */
import type { ServerMessage, SessionMessage } from "../../schemas/Protocol.ts"
import { Client } from "../sessions/support/Candidate.ts"
import type { Created, Node } from "./support.ts"

type Step =
  | { readonly _tag: "start" }
  | { readonly _tag: "answer"; readonly questionId: string; readonly text: string }
  | { readonly _tag: "next"; readonly fromQuestionId: string }
  | { readonly _tag: "finish" }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class CandidateDriver {
  /** Longest time from a socket's close to the next socket's `session`. */
  maxReconnectMs = 0
  /** Longest wait between two analyses on one open socket (load shows here too; reported, not judged). */
  maxAnalysisGapMs = 0
  /**
   * Longest time an open socket went without a message before a resumed `session` on it: its session moved to
   * another owner meanwhile, and the socket did not work until it had.
   */
  maxMoveGapMs = 0
  reconnects = 0
  /** Every wait between analyses over 2 s: when it ended, and how long it was. */
  readonly longGaps: Array<{ readonly endedAt: number; readonly ms: number }> = []
  /** When each socket closed and the next session began (diagnostics). */
  readonly timeline: Array<string> = []
  /** Answer ids the server acknowledged, by question. */
  readonly saved = new Map<string, string>()
  finished = false
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
      let client: Client
      try {
        client = await Client.candidate(node.engine.wsUrl, this.created.interviewId, this.created.candidateToken)
        await client.next("session", 0, 5_000)
      } catch (error) {
        // A finished interview takes no socket: a `finish` whose reply was lost with its socket took effect.
        if ((error as { status?: number }).status === 409 && this.pending?._tag === "finish") {
          this.acked = true
          return
        }
        await sleep(200)
        continue
      }
      this.timeline.push(`${new Date().toISOString()} session via ${node.name}`)
      if (closedAt !== undefined) {
        this.maxReconnectMs = Math.max(this.maxReconnectMs, Date.now() - closedAt)
        this.reconnects++
      }
      this.client = client
      await this.serve(client)
      this.client = undefined
      closedAt = Date.now()
      this.timeline.push(`${new Date().toISOString()} closed ${JSON.stringify(client.closed)}`)
    }
  }

  /** Streams frames on `client` and watches its messages until it closes. */
  private async serve(client: Client): Promise<void> {
    let seen = 0
    let lastAnalysis: number | undefined
    let lastMessage = Date.now()
    let sessions = 0
    const frames = setInterval(() => {
      if (client.closed === undefined) client.sendFrame(this.seq++, this.jpeg)
    }, this.frameEveryMs)
    try {
      while (client.closed === undefined && !this.stopped) {
        await client
          .until((c) => c.messages.length > seen || c.closed !== undefined, "a message", 60_000)
          .catch(() => {})
        for (const m of client.messages.slice(seen)) {
          if (m._tag === "analysis") {
            const now = Date.now()
            if (lastAnalysis !== undefined) {
              this.maxAnalysisGapMs = Math.max(this.maxAnalysisGapMs, now - lastAnalysis)
              if (now - lastAnalysis > 2_000) this.longGaps.push({ endedAt: now, ms: now - lastAnalysis })
            }
            lastAnalysis = now
          }
          if (m._tag === "session") {
            if (sessions++ > 0) {
              this.maxMoveGapMs = Math.max(this.maxMoveGapMs, Date.now() - lastMessage)
              this.timeline.push(`${new Date().toISOString()} resumed after ${Date.now() - lastMessage} ms`)
            }
            this.seq = Math.max(this.seq, m.lastSeq + 1)
            // A resumed session that already shows the step done acknowledges it; one that does not gets it again.
            if (this.pending !== undefined && !this.acked && !this.settledBy(m)) client.send(this.pending)
          }
          this.observe(m)
          lastMessage = Date.now()
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
