/**
 * Inference workers that fail under live interviews, through the whole engine: three candidates stream frames over
 * their sockets, then the frames of one interview make the (only) inference worker exit, or hang until the task
 * timeout stops it. Every frame of every session still gets exactly one reply, an `analysis` or `frame_failed`; the
 * other sessions are analysed again while that interview is still faulty; it is analysed again once it is not; no
 * socket closes, and every session still saves an answer. The fault is the pool's test hook (`faultsForTests`), keyed
 * by interview id: the test learns the ids only once the engine runs, so it keeps the sets and fills them then.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { CreateInterviewResponse } from "../../schemas/Api.ts"
import type { QuestionMessage } from "../../schemas/Protocol.ts"
import { InferencePool, type WorkerFaultsForTests } from "../../src/inference/InferencePool.ts"
import { type Backend, backends } from "../support/Backends.ts"
import { Client } from "./support/Candidate.ts"
import { type Engine, startEngine } from "./support/Engine.ts"
import { singleFace } from "./support/faces.ts"
import { consentToAll } from "../support/Consent.ts"

const jpeg = await singleFace()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A frame every 300 ms per socket: 10 frames/s in all, well within one worker on a busy machine. */
const PERIOD_MS = 300
const TIMEOUT_MS = 1_500
/** Frames the faulty interview sends while it is faulty. */
const FAULTY_FRAMES = 2
/** Analyses each session must get in each phase that is waited for. */
const SEVERAL = 3
/** The longest the test waits for any one phase. */
const WAIT_MS = 20_000
/**
 * Frames a session's mailbox holds. While the only worker is down no session is analysed, yet the healthy ones keep
 * sending a frame every `PERIOD_MS`; once this many wait, the oldest is shed (`frame_shed`), as it should be. The
 * outage is every replacement worker's start (a crash: up to one per attempt of each faulty frame, each loading the
 * models again; a hang: the timeout too), seconds apiece on a loaded machine. In a run that can pass it ends within
 * the faulty frames' sending and the two waits it spans (their replies, then the others' analyses): a mailbox that
 * holds every frame of that time sheds nothing, however slowly the workers start.
 */
const MAX_OUTAGE_MS = (FAULTY_FRAMES - 1) * PERIOD_MS + 2 * WAIT_MS
const MAILBOX_FRAMES = Math.ceil(MAX_OUTAGE_MS / PERIOD_MS) + 1
/**
 * Refusals, none of which may happen here: nothing is shed (see above), and 10 frames/s is far under the sockets'
 * rate cap and the pool's queue.
 */
const REFUSALS = new Set(["frame_shed", "rate_limited", "overloaded"])

type Kind = "crash" | "hang"

interface Outcome {
  /** `analysis`, or the error's code. */
  readonly reply: string
  readonly message: string
  readonly at: number
  readonly faces: number
}

/** One candidate: its socket, the frames it sent and the reply each got (by `seq`, with arrival times). */
class Session {
  readonly sentAt = new Map<number, number>()
  readonly outcomes = new Map<number, Outcome>()
  readonly duplicates: Array<number> = []
  private seq = 0
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(
    readonly name: string,
    readonly interviewId: string,
    readonly client: Client,
    readonly question: QuestionMessage
  ) {
    client.ws.on("message", (data, isBinary) => {
      if (isBinary) return
      const m = JSON.parse(data.toString()) as { _tag: string; seq?: number; code?: string; message?: string }
      if (m.seq === undefined || (m._tag !== "analysis" && m._tag !== "error")) return
      if (this.outcomes.has(m.seq)) this.duplicates.push(m.seq)
      const faces = m._tag === "analysis" ? (m as unknown as { faces: Array<unknown> }).faces.length : 0
      this.outcomes.set(m.seq, {
        reply: m._tag === "analysis" ? "analysis" : m.code!,
        message: m.message ?? "",
        at: Date.now(),
        faces
      })
    })
  }

  send(): number {
    const seq = this.seq++
    this.sentAt.set(seq, Date.now())
    this.client.sendFrame(seq, jpeg)
    return seq
  }

  stream() {
    this.timer ??= setInterval(() => {
      if (this.client.closed === undefined) this.send()
    }, PERIOD_MS)
  }

  pause() {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Frames sent at or after `t` (ms since the epoch) and before `until`. */
  sentBetween(t: number, until = Number.POSITIVE_INFINITY): Array<number> {
    return [...this.sentAt].filter(([, at]) => at >= t && at < until).map(([seq]) => seq)
  }

  analysedSince(t: number): number {
    return this.sentBetween(t).filter((seq) => this.outcomes.get(seq)?.reply === "analysis").length
  }

  /** Waits until `predicate` holds; fails at once if the socket closes or the server breaks the protocol. */
  until(predicate: () => boolean, what: string, timeoutMs = WAIT_MS) {
    return this.client.until(predicate, `${this.name}: ${what}`, timeoutMs)
  }

  replies(seqs: ReadonlyArray<number>): Array<string | undefined> {
    return seqs.map((seq) => this.outcomes.get(seq)?.reply)
  }
}

const createInterview = async (url: string, apiKey: string) => {
  const res = await fetch(`${url}/v1/interviews`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ candidate: { name: "Grace Extra" }, questions: [{ prompt: "What did you build last?" }] }),
    signal: AbortSignal.timeout(10_000)
  })
  if (res.status !== 201) throw new Error(`POST /v1/interviews: ${res.status} ${await res.text()}`)
  const body = (await res.json()) as typeof CreateInterviewResponse.Type
  const created = { interviewId: body.id, candidateToken: body.candidateToken }
  await consentToAll(url, created)
  return created
}

const joinAndStart = async (engine: Engine, name: string, interviewId: string, token: string) => {
  const client = await Client.candidate(engine.wsUrl, interviewId, token)
  client.send({ _tag: "start" })
  return new Session(name, interviewId, client, await client.next("question", 0))
}

const poolMetrics = (engine: Engine) => engine.run(Effect.flatMap(InferencePool, (pool) => pool.metrics))

const scenario = async (backend: Backend, kind: Kind) => {
  const began = Date.now()
  const faults: WorkerFaultsForTests = { crash: new Set<string>(), hang: new Set<string>() }
  const faultSet = faults[kind] as Set<string>
  // One worker: a fault stops all analysis until the replacement serves, so recovery is the pool's, not luck of
  // another worker. A mailbox long enough for that downtime, however slowly replacements start (`MAILBOX_FRAMES`),
  // so that no frame is shed and every reply is the worker's doing.
  const engine = await startEngine(await backend.env(), {
    mailboxFrames: MAILBOX_FRAMES,
    pool: { workers: 1, taskTimeoutMs: TIMEOUT_MS, faultsForTests: faults }
  })
  const sessions: Array<Session> = []
  try {
    const seed = await engine.seed()
    const others = [await createInterview(engine.url, seed.apiKey), await createInterview(engine.url, seed.apiKey)]
    const ids = [seed, ...others]
    for (const [i, { interviewId, candidateToken }] of ids.entries())
      sessions.push(await joinAndStart(engine, `session ${i}`, interviewId, candidateToken))
    const [h1, faulty, h2] = [sessions[0]!, sessions[1]!, sessions[2]!]
    const healthy = [h1, h2]
    const startedAt = Date.now()

    // Everyone streams and is analysed.
    for (const s of sessions) s.stream()
    for (const s of sessions) await s.until(() => s.analysedSince(startedAt) >= SEVERAL, "analyses before the fault")
    const before = await poolMetrics(engine)

    // The fault: frames of one interview now take their worker down. That interview sends a few frames meanwhile,
    // after the replies to those it sent before (so that exactly those few are sent to a worker while it is faulty).
    faulty.pause()
    await faulty.until(() => faulty.sentBetween(0).every((seq) => faulty.outcomes.has(seq)), "replies so far")
    const markedAt = Date.now()
    faultSet.add(faulty.interviewId)
    const faultySeqs: Array<number> = []
    for (let i = 0; i < FAULTY_FRAMES; i++) {
      if (i > 0) await sleep(PERIOD_MS)
      faultySeqs.push(faulty.send())
    }
    await faulty.until(() => faultySeqs.every((seq) => faulty.outcomes.has(seq)), "replies to the faulty frames")
    expect(faulty.replies(faultySeqs)).toEqual(faultySeqs.map(() => "frame_failed"))
    for (const seq of faultySeqs) {
      const outcome = faulty.outcomes.get(seq)!
      // A crash is tried once more by the session, a hang is not (it could hang the next worker too).
      if (kind === "crash") expect(outcome.message).toBe("analysis failed twice on this frame")
      else {
        expect(outcome.message).toContain(`ran over ${TIMEOUT_MS} ms`)
        expect(outcome.at - faulty.sentAt.get(seq)!).toBeGreaterThanOrEqual(TIMEOUT_MS)
      }
    }
    if (kind === "hang") {
      // The first waited at most for a healthy batch, then failed at the timeout; a second attempt would have
      // waited for the replacement worker and a second timeout.
      const first = faultySeqs[0]!
      expect(faulty.outcomes.get(first)!.at - faulty.sentAt.get(first)!).toBeLessThan(2 * TIMEOUT_MS)
    }
    // Replies come in frame order, so every frame of the faulty interview has its reply by now: none is left in
    // the pool, and the worker serving from here on only gets healthy frames.
    const settledAt = Math.max(...faultySeqs.map((seq) => faulty.outcomes.get(seq)!.at))
    expect(faulty.sentBetween(0).every((seq) => faulty.outcomes.has(seq))).toBe(true)

    // Still marked faulty: the others are analysed again.
    for (const s of healthy)
      await s.until(() => s.analysedSince(settledAt) >= SEVERAL, "analyses while the other interview is faulty")
    const firstHealthyAfter = Math.min(
      ...healthy.flatMap((s) =>
        s.sentBetween(settledAt).flatMap((seq) => {
          const o = s.outcomes.get(seq)
          return o?.reply === "analysis" ? [o.at] : []
        })
      )
    )
    const during = await poolMetrics(engine)

    // Un-marked: the faulty interview streams again and is analysed again.
    const unmarkedAt = Date.now()
    faultSet.delete(faulty.interviewId)
    faulty.stream()
    for (const s of sessions)
      await s.until(() => s.analysedSince(unmarkedAt) >= SEVERAL, "analyses once no interview is faulty")
    const firstFaultyAfter = Math.min(
      ...faulty.sentBetween(unmarkedAt).flatMap((seq) => {
        const o = faulty.outcomes.get(seq)
        return o?.reply === "analysis" ? [o.at] : []
      })
    )

    // The actor of every session still takes commands: an answer is saved on each.
    for (const s of sessions)
      s.client.send({ _tag: "answer", questionId: s.question.questionId, text: `Answer after a worker ${kind}.` })
    for (const s of sessions) {
      const saved = await s.client.next("answerSaved", 0, WAIT_MS)
      expect(saved.questionId).toBe(s.question.questionId)
    }

    // Stop, and wait for the reply to every frame sent.
    for (const s of sessions) s.pause()
    for (const s of sessions)
      await s.until(() => s.sentBetween(0).every((seq) => s.outcomes.has(seq)), "a reply to every frame sent")
    const after = await poolMetrics(engine)

    // Exactly one reply per frame, each an analysis or frame_failed.
    const refusals: Array<string> = []
    for (const s of sessions) {
      expect(s.duplicates, `${s.name}: frames answered twice`).toEqual([])
      expect(s.outcomes.size).toBe(s.sentAt.size)
      for (const [seq, o] of s.outcomes) {
        if (REFUSALS.has(o.reply))
          refusals.push(
            `${s.name} frame ${seq}: ${o.reply} ${o.at - s.sentAt.get(seq)!} ms after it was sent (${o.message})`
          )
        else expect(["analysis", "frame_failed"], `${s.name} frame ${seq}: ${o.message}`).toContain(o.reply)
        if (o.reply === "analysis") expect(o.faces, `${s.name} frame ${seq}: the face`).toBe(1)
      }
      // No socket closed, no message outside the protocol.
      expect(s.client.closed).toBeUndefined()
      expect(s.client.invalid).toEqual([])
    }
    expect(refusals, "frames refused").toEqual([])
    // Frames failed only once the fault was on, each with the reason of this fault (a crash: the second attempt).
    const failedMessage = kind === "crash" ? "analysis failed twice on this frame" : `ran over ${TIMEOUT_MS} ms`
    for (const s of sessions)
      for (const o of s.outcomes.values())
        if (o.reply === "frame_failed") {
          expect(o.at).toBeGreaterThan(markedAt)
          expect(o.message).toContain(failedMessage)
        }
    // Healthy frames sent once the faulty frames had their replies were all analysed (the interview still marked),
    // and so was every frame sent once it was not.
    for (const s of healthy) expect(new Set(s.replies(s.sentBetween(settledAt)))).toEqual(new Set(["analysis"]))
    for (const s of sessions) expect(new Set(s.replies(s.sentBetween(unmarkedAt)))).toEqual(new Set(["analysis"]))

    // The faulty interview's frames that failed are exactly the ones sent while it was faulty.
    const faultyFailed = [...faulty.outcomes].filter(([, o]) => o.reply === "frame_failed").map(([seq]) => seq)
    expect(faultyFailed).toEqual(faultySeqs)

    // The pool saw the fault it was told to make, and nothing else.
    const crashes = during.workerCrashes - before.workerCrashes
    const timeouts = during.workerTimeouts - before.workerTimeouts
    // Frames that were in a batch when its worker died or was stopped: the faulty ones and any healthy companions.
    const lost = during.frames.crashed + during.frames.timedOut - before.frames.crashed - before.frames.timedOut
    if (kind === "crash") {
      // Each faulty frame went to a worker twice, the second time after the first crash.
      expect(crashes).toBeGreaterThanOrEqual(2)
      expect(crashes).toBeLessThanOrEqual(2 * FAULTY_FRAMES)
      expect(timeouts).toBe(0)
    } else {
      // Each once.
      expect(timeouts).toBeGreaterThanOrEqual(1)
      expect(timeouts).toBeLessThanOrEqual(FAULTY_FRAMES)
      expect(crashes).toBe(0)
    }
    expect([after.workerCrashes - during.workerCrashes, after.workerTimeouts - during.workerTimeouts]).toEqual([0, 0])
    expect([after.queueDepth, after.inFlightFrames]).toEqual([0, 0])

    const healthyFailed = healthy.reduce(
      (n, s) => n + [...s.outcomes.values()].filter((o) => o.reply === "frame_failed").length,
      0
    )
    const frames = sessions.reduce((n, s) => n + s.sentAt.size, 0)
    const faultyMs = faultySeqs.map((seq) => faulty.outcomes.get(seq)!.at - faulty.sentAt.get(seq)!)
    const firstFailed = Math.min(...faultySeqs.map((seq) => faulty.outcomes.get(seq)!.at)) - markedAt
    console.info(
      `${backend.name} ${kind}: ${frames} frames, ${refusals.length} refused; faulty frames failed after ` +
        `${faultyMs.join(", ")} ms (first ${firstFailed} ms after marking; ${crashes} crashes, ${timeouts} ` +
        `timeouts, ${lost} frames in those batches); ` +
        `healthy sessions: ${healthyFailed} frames failed with it, ` +
        `first analysis ${firstHealthyAfter - settledAt} ms after the last faulty reply; faulty interview analysed ` +
        `${firstFaultyAfter - unmarkedAt} ms after un-marking; scenario ${Date.now() - began} ms`
    )
  } finally {
    for (const s of sessions) {
      s.pause()
      s.client.close()
    }
    await engine.close()
  }
}

for (const backend of backends()) {
  describe(`worker faults under live sessions on ${backend.name}`, () => {
    afterAll(() => backend.cleanup())

    it("a worker that exits on one interview's frames: every frame answered, the others and then it analysed again", () =>
      scenario(backend, "crash"))

    it("a worker that hangs on one interview's frames: frame_failed after the task timeout, all analysed again after", () =>
      scenario(backend, "hang"))
  })
}
