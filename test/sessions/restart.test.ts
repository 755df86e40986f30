/**
 * The engine killed outright (SIGKILL, no shutdown of any kind) in the middle of an interview, then started again
 * on the same data: a real `candor serve` child process, on the embedded defaults (PGlite on disk, its lock file
 * left behind by the dead process) and on real Postgres + Redis. The candidate reconnects, resumes where the
 * interview stood, finishes, and the report holds every answer acknowledged before the kill.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import type { Report } from "../../schemas/Report.ts"
import { lockFile } from "../../src/store/EmbeddedLock.ts"
import { backends } from "../support/Backends.ts"
import { type EngineProcess, freePort, seedEngine, startEngineProcess } from "../support/EngineProcess.ts"
import { getJson } from "../support/Http.ts"
import { Client } from "./support/Candidate.ts"
import { singleFace } from "./support/faces.ts"
import { consentToAll } from "../support/Consent.ts"

const jpeg = await singleFace()

/** Sends a frame every `everyMs` until stopped or the socket closes. */
const streamFrames = (c: Client, from: number, everyMs = 125) => {
  let seq = from
  const timer = setInterval(() => {
    if (c.closed === undefined) c.sendFrame(seq++, jpeg)
  }, everyMs)
  return { next: () => seq, stop: () => clearInterval(timer) }
}

for (const backend of backends()) {
  describe(`engine killed mid-interview on ${backend.name}`, () => {
    const dirs: Array<string> = []
    const engines: Array<EngineProcess> = []
    afterAll(async () => {
      for (const e of engines) await e.kill()
      await backend.cleanup()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    it("restarts on the same data after SIGKILL; the candidate resumes and nothing acknowledged is lost", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "candor-kill-"))
      dirs.push(dataDir)
      const { PGLITE_DIR: _memory, ...backendEnv } = await backend.env()
      const env: Record<string, string> = {
        ...backendEnv,
        CANDOR_DATA_DIR: dataDir,
        CANDOR_DEMO: "false",
        INFERENCE_WORKERS: "1"
      }
      const embedded = env.DATABASE_URL === undefined
      const port = await freePort()

      const t0 = Date.now()
      const first = await startEngineProcess(env, port)
      engines.push(first)
      const started = Date.now() - t0
      const s = await seedEngine(env)
      await consentToAll(first.url, s)
      const c = await Client.candidate(first.wsUrl, s.interviewId, s.candidateToken)
      const hello = await c.next("session", 0)
      expect(hello.resumed).toBe(false)
      c.send({ _tag: "start" })
      const q1 = await c.next("question", 0)
      const frames = streamFrames(c, 0)
      await c.until((x) => x.of("analysis").length >= 4, "analyses before the answer")
      c.send({ _tag: "answer", questionId: q1.questionId, text: "Answered before the crash." })
      const saved1 = await c.next("answerSaved", 0)
      // Frames keep coming right up to the kill.
      const analysedBeforeKill = c.of("analysis").length
      await c.until((x) => x.of("analysis").length >= analysedBeforeKill + 4, "analyses after the answer")

      const killed = await first.kill()
      frames.stop()
      expect(killed.signal).toBe("SIGKILL")
      expect((await c.closedWith(10_000)).code).toBe(1006)
      if (embedded) {
        // The dead server's lock is still there, naming it: the next start must see that its holder is gone.
        expect(existsSync(lockFile(dataDir))).toBe(true)
        expect(JSON.parse(readFileSync(lockFile(dataDir), "utf8")).pid).toBe(first.pid)
      }

      const t1 = Date.now()
      const second = await startEngineProcess(env, port)
      engines.push(second)
      const restarted = Date.now() - t1
      const c2 = await Client.candidate(second.wsUrl, s.interviewId, s.candidateToken)
      const resumed = await c2.next("session", 0)
      expect(resumed).toMatchObject({
        interviewId: s.interviewId,
        status: "question",
        resumed: true,
        answered: [q1.questionId],
        question: { questionId: q1.questionId, index: 0 }
      })
      // The same answer sent again (a client unsure it got through) is acknowledged with the same id.
      c2.send({ _tag: "answer", questionId: q1.questionId, text: "Answered before the crash." })
      expect((await c2.next("answerSaved", 0)).answerId).toBe(saved1.answerId)
      const frames2 = streamFrames(c2, resumed.lastSeq + 1)
      c2.send({ _tag: "next", fromQuestionId: q1.questionId })
      const q2 = await c2.next("question", 0)
      expect(q2.index).toBe(1)
      await c2.until((x) => x.of("analysis").length >= 4, "analyses after the restart")
      c2.send({ _tag: "answer", questionId: q2.questionId, text: "Answered after the restart." })
      const saved2 = await c2.next("answerSaved", 1)
      c2.send({ _tag: "finish" })
      await c2.next("finished", 0)
      frames2.stop()

      const report = await getJson<Report>(`${second.url}/v1/interviews/${s.interviewId}/report`, s.apiKey)
      expect(report.status).toBe("finished")
      expect(report.questions.map((q) => [q.questionId, q.answer?.answerId, q.answer?.text])).toEqual([
        [q1.questionId, saved1.answerId, "Answered before the crash."],
        [q2.questionId, saved2.answerId, "Answered after the restart."]
      ])
      c2.close()
      const stopped = await second.stop()
      expect(stopped.code).toBe(0)
      if (embedded) expect(existsSync(lockFile(dataDir))).toBe(false)
      console.info(
        `SIGKILL on ${backend.name}: first start ${started} ms, restart after the kill ${restarted} ms (ready), resumed at seq ${resumed.lastSeq}`
      )
    }, 240_000)
  })
}
