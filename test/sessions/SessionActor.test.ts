import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import { strongestExpression } from "../../schemas/Emotions.ts"
import type { EmotionScores } from "../../schemas/FrameAnalysis.ts"
import type { ServerMessage } from "../../schemas/Protocol.ts"
import type { CandidateConnection } from "../../src/actors/SessionActor.ts"
import { start } from "../../src/actors/SessionActor.ts"
import { defaultSessionSettings, type SessionSettings } from "../../src/actors/SessionConfig.ts"
import type { SessionInfo } from "../../src/actors/SessionInfo.ts"
import { SessionStats } from "../../src/actors/SessionStats.ts"
import { PoolSaturated } from "../../src/inference/InferenceErrors.ts"
import type { FrameInput, InferencePoolShape } from "../../src/inference/InferencePool.ts"
import type { KeyframeJob } from "../../src/pipeline/KeyframeSink.ts"
import type { SessionWrite } from "../../src/store/SessionWrites.ts"
import type { WriteBehindShape } from "../../src/store/WriteBehind.ts"
import { analysis, face, happy, neutral } from "./support/analyses.ts"

const info: SessionInfo = {
  interviewId: "i1",
  tenantId: "t1",
  affect: true,
  questions: [
    { id: "q1", index: 0, prompt: "One?" },
    { id: "q2", index: 1, prompt: "Two?" }
  ],
  reportUrl: "http://x/report"
}

const jpeg = new Uint8Array([0xff, 0xd8, 1, 2])
const frame = (seq: number, capturedAt = seq * 100) => ({ seq, capturedAt, image: jpeg })

/** Test doubles for everything around an actor; commits and analyses can be held back. */
const harness = (overrides: Partial<SessionSettings> = {}) => {
  const settings: SessionSettings = { ...defaultSessionSettings, tickMs: 20, ...overrides }
  const rows: Array<SessionWrite> = []
  const durable: Array<ReadonlyArray<SessionWrite>> = []
  const published: Array<string> = []
  const keyframes: Array<KeyframeJob> = []
  const control = {
    commitsHeld: false,
    analysesHeld: false,
    dieOn: new Set<number>(),
    saturateOn: new Set<number>(),
    analyzed: [] as Array<number>,
    /** What the pool was asked, frame by frame. */
    inputs: [] as Array<FrameInput>,
    /** The main face's emotion by frame (neutral otherwise). */
    emotions: new Map<number, EmotionScores>()
  }
  let commitGate = Deferred.makeUnsafe<void>()
  let analysisGate = Deferred.makeUnsafe<void>()
  const release = {
    commits: () => {
      control.commitsHeld = false
      Deferred.doneUnsafe(commitGate, Effect.void)
      commitGate = Deferred.makeUnsafe<void>()
    },
    analyses: () => {
      control.analysesHeld = false
      Deferred.doneUnsafe(analysisGate, Effect.void)
      analysisGate = Deferred.makeUnsafe<void>()
    }
  }
  const pool: InferencePoolShape = {
    analyze: (f) =>
      Effect.gen(function* () {
        if (control.analysesHeld) yield* Deferred.await(analysisGate)
        yield* Effect.sleep(1)
        if (control.dieOn.has(f.seq)) return yield* Effect.die(new Error(`boom on ${f.seq}`))
        if (control.saturateOn.has(f.seq)) return yield* Effect.fail(new PoolSaturated({ queued: 9, maxQueue: 9 }))
        control.analyzed.push(f.seq)
        control.inputs.push(f)
        const emotion = control.emotions.get(f.seq) ?? neutral
        const result = analysis(f.seq, f.capturedAt, [face(0.3, emotion)])
        // As the workers do: the heat-map when asked, or when the expression reaches the bar asked for.
        const drawn =
          f.heatmap === true || (f.heatmapFrom !== undefined && strongestExpression(emotion) >= f.heatmapFrom)
        return drawn ? { ...result, heatmap: { emotion: "happy" as const, png: new Uint8Array([f.seq]) } } : result
      }),
    forget: () => Effect.void,
    metrics: Effect.die("not used")
  }
  const writes: WriteBehindShape = {
    write: (_id, r) => {
      rows.push(...r)
    },
    submitDurable: (_id, r) =>
      Effect.gen(function* () {
        if (control.commitsHeld) yield* Deferred.await(commitGate)
        durable.push(r)
        rows.push(...r)
      }),
    flush: Effect.void,
    discard: () => Effect.void,
    stats: () => ({ bufferedRows: 0, writtenRows: 0, shedRows: 0, rejectedRows: 0, failedFlushes: 0, outage: false })
  }
  const stats = new SessionStats()
  let ids = 0
  const deps = {
    pool,
    writes,
    live: {
      setFields: () => {},
      discard: () => Effect.void,
      publish: (_: string, events: ReadonlyArray<{ _tag: string }>) =>
        void published.push(...events.map((e) => e._tag)),
      stats: () => ({ published: 0, dropped: 0, paused: false })
    },
    keyframes: {
      submit: (job: KeyframeJob) => keyframes.push(job) > 0,
      discard: () => Effect.void
    },
    settings,
    stats,
    newId: () => `id${++ids}`
  }
  return { settings, rows, durable, published, keyframes, control, release, deps, stats }
}

class FakeConnection implements CandidateConnection {
  readonly messages: Array<ServerMessage> = []
  closedWith: number | undefined
  constructor(readonly id: number) {}
  send(message: ServerMessage) {
    if (this.closedWith === undefined) this.messages.push(message)
  }
  close(code: number) {
    this.closedWith ??= code
  }
  tags() {
    return this.messages.map((m) => (m._tag === "error" ? `error:${m.code}` : m._tag))
  }
  of<T extends ServerMessage["_tag"]>(tag: T) {
    return this.messages.filter((m): m is Extract<ServerMessage, { _tag: T }> => m._tag === tag)
  }
}

const until = (predicate: () => boolean, what: string, timeoutMs = 5_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (!predicate()) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep(5)
    }
  })

/** The candidate consented to everything on the tenant's notice. */
const consented = {
  noticeVersion: "1",
  decisions: (["data_processing", "affect_analysis"] as const).map((kind) => ({
    kind,
    granted: true,
    noticeVersion: "1",
    at: 0
  }))
}

const fresh = { snapshot: undefined, maxEventSeq: 0, answers: [], consent: consented }

describe("SessionActor", () => {
  it.live("acknowledges commands after their commits and in command order, while frames keep flowing", () =>
    Effect.gen(function* () {
      const h = harness()
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      h.control.commitsHeld = true
      actor.command({ _tag: "start" })
      for (let i = 0; i < 3; i++) actor.frame(c, frame(i))
      yield* until(() => c.of("analysis").length === 3, "analyses")
      expect(c.of("question")).toHaveLength(0)
      actor.command({ _tag: "answer", questionId: "q1", text: "Because." })
      actor.command({ _tag: "answer", questionId: "nope", text: "x" })
      yield* Effect.sleep(50)
      expect(c.tags().filter((t) => t !== "analysis")).toEqual(["session"])
      h.release.commits()
      yield* until(() => c.tags().includes("error:unknown_question"), "the refusal")
      expect(c.tags().filter((t) => t !== "analysis" && t !== "score")).toEqual([
        "session",
        "question",
        "answerSaved",
        "error:unknown_question"
      ])
      expect(h.durable[1]!.map((w) => w._tag)).toEqual(["Answer", "InterviewState", "Snapshot", "Event"])
    })
  )

  it.live("analyses frames before start for the camera check, and scores or keeps none of them", () =>
    Effect.gen(function* () {
      const h = harness()
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      for (let i = 0; i < 5; i++) actor.frame(c, frame(i))
      yield* until(() => c.of("analysis").length === 5, "five analyses")
      expect(c.of("analysis").map((a) => a.seq)).toEqual([0, 1, 2, 3, 4])
      expect(c.of("error")).toEqual([])
      expect(h.control.analyzed).toHaveLength(5)
      // Nothing of the check is written: no events, no keyframes, no commit at all.
      expect(h.durable).toEqual([])
    })
  )

  it.live("sheds the oldest frames when its mailbox is full, asks to slow down, and never sheds commands", () =>
    Effect.gen(function* () {
      const h = harness({ mailboxFrames: 3, inFlightFrames: 1 })
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      yield* until(() => c.of("question").length === 1, "question")
      h.control.analysesHeld = true
      for (let i = 0; i < 12; i++) actor.frame(c, frame(i))
      actor.command({ _tag: "answer", questionId: "q1", text: "Still here." })
      yield* until(() => c.of("answerSaved").length === 1, "the answer, ahead of queued frames")
      h.release.analyses()
      yield* until(() => c.of("analysis").length + c.of("error").length === 12, "a reply for every frame")
      const shed = c
        .of("error")
        .filter((e) => e.code === "frame_shed")
        .map((e) => e.seq)
      expect(shed).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect(c.of("analysis").map((a) => a.seq)).toEqual([0, 9, 10, 11])
      expect(c.of("slowDown")).toHaveLength(1)
      expect(h.stats.framesShed).toBe(8)
    })
  )

  it.live("answers a saturated pool with overloaded and slowDown", () =>
    Effect.gen(function* () {
      const h = harness()
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      h.control.saturateOn.add(2)
      for (let i = 0; i < 4; i++) actor.frame(c, frame(i))
      yield* until(() => c.of("analysis").length === 3, "analyses")
      expect(c.of("error").map((e) => [e.code, e.seq])).toEqual([["overloaded", 2]])
      expect(c.of("slowDown")).toHaveLength(1)
    })
  )

  it.live("restarts from its last snapshot after a defect, keeping the socket and every answer", () =>
    Effect.gen(function* () {
      const h = harness()
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      actor.command({ _tag: "answer", questionId: "q1", text: "First answer." })
      yield* until(() => c.of("answerSaved").length === 1, "answer")
      h.control.dieOn.add(3)
      for (let i = 0; i < 6; i++) actor.frame(c, frame(i))
      yield* until(() => c.of("session").length === 2, "a fresh session message")
      expect(h.stats.restarts).toBe(1)
      expect(c.of("session")[1]).toMatchObject({ status: "question", answered: ["q1"], resumed: true })
      expect(c.closedWith).toBeUndefined()
      actor.command({ _tag: "next" })
      actor.command({ _tag: "answer", questionId: "q2", text: "Second answer." })
      yield* until(() => c.of("answerSaved").length === 2, "second answer")
      const seqs = h.rows.flatMap((w) => (w._tag === "Event" ? [w.event.seq] : []))
      expect(new Set(seqs).size).toBe(seqs.length)
    })
  )

  it.live("stops and closes the socket with 1011 after too many defects", () =>
    Effect.gen(function* () {
      const h = harness({ maxRestarts: 1 })
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      for (let i = 0; i < 5; i++) h.control.dieOn.add(i)
      for (let i = 0; i < 5; i++) actor.frame(c, frame(i))
      yield* actor.done
      expect(c.closedWith).toBe(1011)
      expect(actor.closed()).toBe(true)
    })
  )

  it.live("lets the newest socket take over and closes the previous one with 4001", () =>
    Effect.gen(function* () {
      const h = harness()
      const actor = yield* start(info, fresh, h.deps)
      const first = new FakeConnection(1)
      const second = new FakeConnection(2)
      actor.attach(first)
      actor.attach(second)
      yield* until(() => second.of("session").length === 1, "second session")
      expect(first.tags()).toEqual(["session", "error:replaced"])
      expect(first.closedWith).toBe(4001)
      expect(second.of("session")[0]!.resumed).toBe(true)
    })
  )

  it.live("passivates without a socket, committing a final snapshot", () =>
    Effect.gen(function* () {
      const h = harness({ passivateAfterMs: 60 })
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      yield* until(() => c.of("question").length === 1, "question")
      actor.detach(c)
      yield* actor.done
      expect(h.stats.passivations).toBe(1)
      expect(h.durable.at(-1)!.map((w) => w._tag)).toEqual(["Snapshot"])
    })
  )

  it.live("on shutdown analyses the frames it accepted, then closes the socket with 1001", () =>
    Effect.gen(function* () {
      const h = harness({ mailboxFrames: 20 })
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      yield* until(() => c.of("question").length === 1, "question")
      h.control.analysesHeld = true
      for (let i = 0; i < 10; i++) actor.frame(c, frame(i))
      const stopping = yield* Effect.forkChild(actor.stop("shutdown"))
      yield* Effect.sleep(20)
      h.release.analyses()
      yield* Fiber.join(stopping)
      expect(c.of("analysis").map((a) => a.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(c.closedWith).toBe(1001)
      expect(h.durable.at(-1)!.map((w) => w._tag)).toEqual(["Snapshot"])
    })
  )

  it.live("keeps keyframes with the frame's bytes", () =>
    Effect.gen(function* () {
      const h = harness()
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      actor.frame(c, frame(1))
      yield* until(() => h.keyframes.length === 1, "a periodic keyframe")
      expect(h.keyframes[0]).toMatchObject({ interviewId: "i1", seq: 1, reason: "periodic", wantHeatmap: true })
      expect(h.keyframes[0]!.image).toBe(jpeg)
    })
  )

  /** An actor with a socket attached and its first question open. */
  const inQuestion = (session: SessionInfo) =>
    Effect.gen(function* () {
      const h = harness()
      const actor = yield* start(session, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      yield* until(() => c.of("question").length === 1, "question")
      return { h, actor, c }
    })

  it.live("asks for the heat-map of a frame an expression would keep, so its keyframe needs no second analysis", () =>
    Effect.gen(function* () {
      const { h, actor, c } = yield* inQuestion(info)
      const asked = (seq: number) => h.control.inputs.find((f) => f.seq === seq)
      h.control.emotions.set(2, happy)
      for (const [seq, at] of [
        [1, 0],
        [2, 200],
        [3, 400],
        [4, 3_200]
      ] as const) {
        actor.frame(c, frame(seq, at))
        yield* until(() => c.of("analysis").length === seq, `frame ${seq}`)
      }
      // The first frame is the periodic keyframe; the second is not, but an expression of 0.6 would keep it.
      expect([asked(1)?.heatmap, asked(1)?.heatmapFrom]).toEqual([true, undefined])
      expect([asked(2)?.heatmap, asked(2)?.heatmapFrom]).toEqual([false, 0.6])
      expect(h.keyframes.map((k) => [k.seq, k.reason, k.heatmap !== undefined])).toEqual([
        [1, "periodic", true],
        [2, "expression", true]
      ])
      // Too soon after that event keyframe nothing could keep a frame; after the gap only a stronger expression.
      expect(asked(3)?.heatmapFrom).toBeUndefined()
      expect(asked(4)?.heatmapFrom).toBeCloseTo(0.95, 9)
    })
  )

  it.live("asks for no heat-map when affect signals are off", () =>
    Effect.gen(function* () {
      const { h, actor, c } = yield* inQuestion({ ...info, affect: false })
      actor.frame(c, frame(1, 0))
      actor.frame(c, frame(2, 200))
      yield* until(() => c.of("analysis").length === 2, "two analyses")
      expect(h.control.inputs.map((f) => [f.heatmap, f.heatmapFrom])).toEqual([
        [false, undefined],
        [false, undefined]
      ])
    })
  )
})

it.live("a closed scope interrupts the actor", () =>
  Effect.gen(function* () {
    const h = harness()
    const scope = yield* Scope.make()
    const actor = yield* start(info, fresh, h.deps).pipe(Scope.provide(scope))
    yield* Scope.close(scope, Exit.void)
    yield* actor.done
    expect(h.stats.active).toBe(0)
  })
)

describe("SessionActor on the test clock", () => {
  /** Lets every fiber that can run, run (the test clock does not move by itself). */
  const settle = Effect.gen(function* () {
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow
  })

  it.effect("passivates exactly when the idle time has passed, by the clock it is given", () =>
    Effect.gen(function* () {
      const h = harness({ passivateAfterMs: 5_000, tickMs: 100 })
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      yield* settle
      expect(c.of("question")).toHaveLength(1)
      actor.detach(c)
      yield* settle
      yield* TestClock.adjust("4900 millis")
      yield* settle
      expect(actor.closed()).toBe(false)
      expect(h.stats.passivations).toBe(0)
      yield* TestClock.adjust("200 millis")
      yield* settle
      yield* actor.done
      expect(h.stats.passivations).toBe(1)
      // The final snapshot took the clock's time, not the wall clock's.
      const snapshot = h.durable.at(-1)!.find((w) => w._tag === "Snapshot")!
      expect((snapshot.state as { startedAt: number }).startedAt).toBeLessThan(1_000)
    })
  )

  it.effect("answers a caller after the commit, and the socket sees what changed but not the caller's refusals", () =>
    Effect.gen(function* () {
      const h = harness()
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      h.control.commitsHeld = true
      const submit = (questionId: string, text: string) =>
        actor.ask({ _tag: "submitAnswer", questionId, text, source: "text", transcription: null })
      // Before the candidate started, to a question that is not the socket's current one.
      const asked = yield* Effect.forkChild(submit("q2", "Typed on the web page."))
      yield* settle
      expect(asked.pollUnsafe()).toBeUndefined()
      expect(c.of("answerSaved")).toHaveLength(0)
      h.release.commits()
      const outcome = yield* Fiber.join(asked)
      expect(outcome).toMatchObject({ committed: true, messages: [{ _tag: "answerSaved", questionId: "q2" }] })
      expect(c.of("answerSaved")).toEqual([{ _tag: "answerSaved", questionId: "q2", answerId: "id1" }])
      const refused = yield* submit("q2", "Something else.")
      expect(refused).toMatchObject({ committed: false, messages: [{ _tag: "error", code: "already_answered" }] })
      expect(yield* submit("q9", "No such question.")).toMatchObject({
        messages: [{ _tag: "error", code: "unknown_question" }]
      })
      expect(c.tags().filter((t) => t.startsWith("error"))).toEqual([])
      const finished = yield* actor.ask({ _tag: "finish" })
      expect(finished).toMatchObject({ messages: [{ _tag: "finished", reportUrl: info.reportUrl }] })
      expect(c.of("finished")).toHaveLength(1)
      expect(c.closedWith).toBe(1000)
      expect(yield* submit("q1", "Too late.")).toMatchObject({ messages: [{ _tag: "error", code: "finished" }] })
    })
  )

  it.effect("erased: stops without a final write, tells the socket and every waiting caller", () =>
    Effect.gen(function* () {
      const h = harness()
      const actor = yield* start(info, fresh, h.deps)
      const c = new FakeConnection(1)
      actor.attach(c)
      actor.command({ _tag: "start" })
      yield* settle
      const written = h.durable.length
      h.control.commitsHeld = true
      const waiting = yield* Effect.forkChild(
        actor.ask({ _tag: "submitAnswer", questionId: "q1", text: "Mid-air.", source: "text", transcription: null })
      )
      yield* settle
      yield* actor.stop("erased")
      expect(yield* Fiber.join(waiting)).toMatchObject({ messages: [{ _tag: "error", code: "erased" }] })
      expect(c.tags().at(-1)).toBe("error:erased")
      expect(c.closedWith).toBe(4004)
      // No final snapshot was asked for after the erasure.
      expect(h.durable.length).toBe(written)
    })
  )
})
