/**
 * An interview held over the candidate WebSocket (frames of a real face, answers, finish) ends in a complete
 * report: the live session's stored answers are scored by the queue without being told, and its score windows
 * become the report's attention, affect and timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import type { Report } from "../../schemas/Report.ts"
import { makeAnswersConfig } from "../../src/answers/AnswersConfig.ts"
import { ReportAggregator } from "../../src/reports/ReportAggregator.ts"
import { reportsLayerWith } from "../../src/reports/Reports.ts"
import { Interviews } from "../../src/store/Interviews.ts"
import { backends } from "../support/Backends.ts"
import { Client } from "../sessions/support/Candidate.ts"
import { type Engine, startEngine } from "../sessions/support/Engine.ts"
import { singleFace } from "../sessions/support/faces.ts"
import { goodAnswers } from "./support.ts"

const jpeg = await singleFace()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const backend of backends()) {
  describe(`an interview over the candidate socket ends in a report, on ${backend.name}`, () => {
    let engine: Engine

    beforeAll(async () => {
      engine = await startEngine(await backend.env(), {}, (live) =>
        reportsLayerWith(makeAnswersConfig({ apiKeys: [] }), { scoring: { pollIntervalMs: 50 } }).pipe(
          Layer.provideMerge(live)
        )
      )
    })
    afterAll(async () => {
      await engine?.close()
      await backend.cleanup()
    })

    it("scores the socket's answers offline and summarises its video", async () => {
      const seeded = await engine.seed()
      const c = await Client.candidate(engine.wsUrl, seeded.interviewId, seeded.candidateToken)
      c.send({ _tag: "start" })
      let seq = 0
      const t0 = Date.now()
      for (const [index, text] of goodAnswers.entries()) {
        const question = await c.next("question", index)
        for (let i = 0; i < 15; i++) {
          c.sendFrame(seq, jpeg, t0 + seq * 100)
          seq++
          await sleep(100)
        }
        c.send({ _tag: "answer", questionId: question.questionId, text })
        await c.next("answerSaved", index)
        if (index < goodAnswers.length - 1) c.send({ _tag: "next" })
      }
      c.send({ _tag: "finish" })
      const finished = await c.next("finished", 0)
      expect(finished.reportUrl).toContain(`/v1/interviews/${seeded.interviewId}/report`)

      const interview = await engine.run(
        Effect.flatMap(Interviews, (r) => r.getById(seeded.interviewId)).pipe(Effect.map(Option.getOrThrow))
      )
      let report: Report | undefined
      for (let i = 0; i < 600; i++) {
        report = await engine.run(Effect.flatMap(ReportAggregator, (a) => a.report(interview)))
        if (report.complete) break
        await sleep(50)
      }
      expect(report?.complete).toBe(true)
      const r = report!
      expect(r.status).toBe("finished")
      expect(r.scoring).toEqual({ answered: 2, scored: 2, pending: 0, failed: 0, unanswered: 0 })
      for (const q of r.questions) expect(q.score?.label).toBe("offline heuristic")
      expect(r.signalsUsed).toEqual(["answers", "attention", "emotion", "blinks"])
      expect(r.timeline.length).toBeGreaterThanOrEqual(2)
      expect(r.attention!.frames).toBeGreaterThan(0)
      expect(r.attention!.facePresence).toBeGreaterThan(0.5)
      expect(r.affect).not.toBeNull()
      expect(r.questions.every((q) => q.signals !== null)).toBe(true)
      expect(r.models.vision?.models.map((m) => m.name)).toEqual(["blazeface", "emotion", "facemesh"])
      c.close()
    })
  })
}
