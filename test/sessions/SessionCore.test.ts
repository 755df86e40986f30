import { describe, expect, it } from "@effect/vitest"
import type { ServerMessage } from "../../schemas/Protocol.ts"
import { defaultSessionSettings } from "../../src/actors/SessionConfig.ts"
import { type OrderedStep, Outbox } from "../../src/actors/Outbox.ts"
import { SessionCore } from "../../src/actors/SessionCore.ts"
import type { SessionInfo } from "../../src/actors/SessionInfo.ts"
import { decodeSnapshot } from "../../src/actors/SessionMessages.ts"
import type { RestorePoint } from "../../src/actors/SessionState.ts"
import { analysis, face, happy } from "./support/analyses.ts"

const info = (affect = true): SessionInfo => ({
  interviewId: "i1",
  tenantId: "t1",
  affect,
  questions: [
    { id: "q1", index: 0, prompt: "First?" },
    { id: "q2", index: 1, prompt: "Second?" }
  ],
  reportUrl: "http://x/v1/interviews/i1/report"
})

/** The candidate consented to data processing and affect analysis on the tenant's notice. */
const consented: RestorePoint["consent"] = {
  noticeVersion: "1",
  decisions: [
    { kind: "data_processing", granted: true, noticeVersion: "1", at: 0 },
    { kind: "affect_analysis", granted: true, noticeVersion: "1", at: 0 }
  ]
}
const fresh: RestorePoint = { snapshot: undefined, maxEventSeq: 0, answers: [], consent: consented }
const settings = defaultSessionSettings

const make = (restore: RestorePoint = fresh, affect = true) => {
  let n = 0
  return new SessionCore(info(affect), settings, restore, () => `a${++n}`)
}

const step = (_core: SessionCore, f: (out: Outbox) => void) => {
  const out = new Outbox()
  f(out)
  return out
}

const replies = (out: Outbox): Array<ServerMessage> =>
  out.ordered.flatMap((s: OrderedStep) => (s._tag === "Reply" ? [s.message] : s.acks))

const commits = (out: Outbox) => out.ordered.filter((s) => s._tag === "Commit")

describe("SessionCore", () => {
  it("starts with the first question, committed before it is acknowledged", () => {
    const core = make()
    // Before start, frames are analysed (the camera check) but not scored.
    expect([core.acceptsFrames, core.scoresFrames]).toEqual([true, false])
    const out = step(core, (o) => core.command({ _tag: "start" }, 1_000, o))
    const [commit] = commits(out)
    expect(commit?._tag).toBe("Commit")
    if (commit?._tag !== "Commit") return
    expect(commit.writes.map((w) => w._tag)).toEqual(["InterviewState", "Snapshot"])
    expect(commit.writes[0]).toMatchObject({ status: "in_progress", cursor: 0, startedAt: 1_000 })
    expect(commit.events.map((e) => [e._tag, e.seq])).toEqual([
      ["interviewStarted", 1],
      ["questionStarted", 2]
    ])
    expect(commit.acks).toEqual([{ _tag: "question", questionId: "q1", index: 0, prompt: "First?", count: 2 }])
    expect([core.acceptsFrames, core.scoresFrames]).toEqual([true, true])
    // start again (a client re-sending after a reconnect) only repeats the question.
    const again = step(core, (o) => core.command({ _tag: "start" }, 2_000, o))
    expect(commits(again)).toHaveLength(0)
    expect(replies(again)).toEqual([{ _tag: "question", questionId: "q1", index: 0, prompt: "First?", count: 2 }])
  })

  it("refuses commands that do not fit the state, with a code", () => {
    const core = make()
    const codes = (f: (o: Outbox) => void) => replies(step(core, f)).map((m) => (m._tag === "error" ? m.code : m._tag))
    expect(codes((o) => core.command({ _tag: "answer", questionId: "q1", text: "x" }, 0, o))).toEqual(["not_started"])
    expect(codes((o) => core.command({ _tag: "next" }, 0, o))).toEqual(["not_started"])
    step(core, (o) => core.command({ _tag: "start" }, 0, o))
    expect(codes((o) => core.command({ _tag: "answer", questionId: "nope", text: "x" }, 0, o))).toEqual([
      "unknown_question"
    ])
    expect(codes((o) => core.command({ _tag: "answer", questionId: "q2", text: "x" }, 0, o))).toEqual([
      "not_current_question"
    ])
    step(core, (o) => core.command({ _tag: "next" }, 0, o))
    expect(codes((o) => core.command({ _tag: "next" }, 0, o))).toEqual(["no_more_questions"])
    step(core, (o) => core.command({ _tag: "finish" }, 0, o))
    expect(codes((o) => core.command({ _tag: "answer", questionId: "q2", text: "x" }, 0, o))).toEqual(["finished"])
    expect(codes((o) => core.command({ _tag: "finish" }, 0, o))).toEqual(["finished"])
  })

  it("stores one answer per question and acknowledges a repeated identical answer again", () => {
    const core = make()
    step(core, (o) => core.command({ _tag: "start" }, 0, o))
    const out = step(core, (o) => core.command({ _tag: "answer", questionId: "q1", text: "A queue." }, 10, o))
    const [commit] = commits(out)
    if (commit?._tag !== "Commit") throw new Error("expected a commit")
    const answer = commit.writes.find((w) => w._tag === "Answer")
    expect(answer).toMatchObject({ id: "a1", questionId: "q1", body: "A queue.", idempotencyKey: "i1:q1" })
    expect(commit.acks).toEqual([{ _tag: "answerSaved", questionId: "q1", answerId: "a1" }])
    expect(commit.events[0]).toMatchObject({ _tag: "answerRecorded", answerId: "a1", chars: 8 })
    const again = step(core, (o) => core.command({ _tag: "answer", questionId: "q1", text: "A queue." }, 20, o))
    expect(commits(again)).toHaveLength(0)
    expect(replies(again)).toEqual([{ _tag: "answerSaved", questionId: "q1", answerId: "a1" }])
    const other = step(core, (o) => core.command({ _tag: "answer", questionId: "q1", text: "Another." }, 30, o))
    expect(replies(other)[0]).toMatchObject({ _tag: "error", code: "already_answered" })
  })

  it("moves on only from the question the client names, so a re-sent next cannot skip one", () => {
    const core = make()
    step(core, (o) => core.command({ _tag: "start" }, 0, o))
    const moved = step(core, (o) => core.command({ _tag: "next", fromQuestionId: "q1" }, 1_000, o))
    expect(commits(moved)).toHaveLength(1)
    const resent = step(core, (o) => core.command({ _tag: "next", fromQuestionId: "q1" }, 1_100, o))
    expect(commits(resent)).toHaveLength(0)
    expect(replies(resent)).toMatchObject([{ _tag: "question", questionId: "q2" }])
  })

  it("finishes with a summary of the open question and closes the socket after acknowledging", () => {
    const core = make()
    step(core, (o) => core.command({ _tag: "start" }, 0, o))
    for (let i = 0; i < 5; i++) step(core, (o) => core.frameAnalyzed(analysis(i, i * 100, [face()]), false, i * 100, o))
    const out = step(core, (o) => core.command({ _tag: "finish" }, 5_000, o))
    const [commit] = commits(out)
    if (commit?._tag !== "Commit") throw new Error("expected a commit")
    expect(commit.close).toBe(true)
    expect(commit.events.map((e) => e._tag)).toEqual(["attention", "emotion", "questionSummary", "interviewFinished"])
    expect(commit.writes[0]).toMatchObject({ status: "finished", finishedAt: 5_000 })
    expect(commit.acks).toEqual([{ _tag: "finished", reportUrl: "http://x/v1/interviews/i1/report" }])
    expect(core.sessionStatus).toBe("finished")
    expect(core.acceptsFrames).toBe(false)
  })

  it("replies with each frame's analysis and hides emotions when affect signals are off", () => {
    const on = make()
    step(on, (o) => on.command({ _tag: "start" }, 0, o))
    const a = step(on, (o) => on.frameAnalyzed(analysis(7, 123, [face(0.3, happy)]), false, 0, o))
    expect(a.replies).toEqual([
      {
        _tag: "analysis",
        seq: 7,
        capturedAt: 123,
        faces: [{ box: [100, 80, 200, 220], score: 0.98, ear: 0.3, eyesClosed: false, emotion: happy }]
      }
    ])
    const off = make(fresh, false)
    step(off, (o) => off.command({ _tag: "start" }, 0, o))
    const b = step(off, (o) => off.frameAnalyzed(analysis(7, 123, [face(0.3, happy)]), false, 0, o))
    expect((b.replies[0] as any).faces[0].emotion).toBeNull()
  })

  it("keeps expression peaks as keyframes", () => {
    const core = make()
    step(core, (o) => core.command({ _tag: "start" }, 0, o))
    const first = step(core, (o) => core.frameAnalyzed(analysis(1, 0, [face()]), true, 0, o))
    expect(first.keyframes).toEqual([{ seq: 1, reason: "periodic" }])
    const peak = step(core, (o) => core.frameAnalyzed(analysis(2, 4_000, [face(0.3, happy)]), false, 4_000, o))
    expect(peak.keyframes).toEqual([{ seq: 2, reason: "expression" }])
    const off = make(fresh, false)
    step(off, (o) => off.command({ _tag: "start" }, 0, o))
    off.frameAnalyzed(analysis(1, 0, [face()]), false, 0, new Outbox())
    const none = step(off, (o) => off.frameAnalyzed(analysis(2, 4_000, [face(0.3, happy)]), false, 4_000, o))
    expect(none.keyframes).toEqual([])
  })

  it("resumes from its snapshot: cursor, answers, counters", () => {
    const core = make()
    step(core, (o) => core.command({ _tag: "start" }, 0, o))
    step(core, (o) => core.command({ _tag: "answer", questionId: "q1", text: "Yes." }, 10, o))
    const out = step(core, (o) => core.command({ _tag: "next" }, 20, o))
    const [commit] = commits(out)
    if (commit?._tag !== "Commit") throw new Error("expected a commit")
    const written = commit.writes.find((w) => w._tag === "Snapshot")!
    const snapshot = decodeSnapshot(JSON.parse(JSON.stringify((written as any).state)))
    expect(snapshot._tag).toBe("Some")
    if (snapshot._tag !== "Some") return
    const resumed = make({ snapshot: snapshot.value, maxEventSeq: 0, answers: [], consent: consented })
    expect(resumed.sessionMessage(15, true)).toMatchObject({
      status: "question",
      question: { questionId: "q2", index: 1 },
      answered: ["q1"],
      resumed: true
    })
    const next = step(resumed, (o) => resumed.command({ _tag: "answer", questionId: "q2", text: "No." }, 30, o))
    const [c] = commits(next)
    if (c?._tag !== "Commit") throw new Error("expected a commit")
    expect(c.events[0]!.seq).toBe(core.eventSequence + 1)
  })

  it("resumes from the answers on record when no snapshot was written", () => {
    const resumed = make({
      snapshot: undefined,
      maxEventSeq: 12,
      answers: [{ questionId: "q1", answerId: "x", body: "B" }],
      consent: consented
    })
    expect(resumed.sessionMessage(15, true)).toMatchObject({ status: "question", answered: ["q1"] })
    const again = step(resumed, (o) => resumed.command({ _tag: "answer", questionId: "q1", text: "B" }, 0, o))
    expect(replies(again)).toEqual([{ _tag: "answerSaved", questionId: "q1", answerId: "x" }])
  })
})
