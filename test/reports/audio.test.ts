/** Spoken answers over HTTP, transcribed by a local OpenAI-compatible server before anything is stored. */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type FakeOpenAi, type FakeReply, startFakeOpenAi } from "../answers/FakeOpenAiServer.ts"
import { fastConfig } from "../answers/support.ts"
import { backends } from "../support/Backends.ts"
import { startReportsServer } from "../support/ReportsServer.ts"
import type { TestServer } from "../support/TestServer.ts"
import { type Client, client, completeReport, countRows, questionIds } from "./support.ts"
import { consentToAll } from "../support/Consent.ts"

for (const backend of backends()) {
  describe(`audio answers on ${backend.name}`, () => {
    let server: TestServer
    let fake: FakeOpenAi
    let c: Client
    let transcription: FakeReply | undefined

    const newInterview = async () => {
      const r = await c.call("/v1/interviews", {
        method: "POST",
        body: JSON.stringify({ candidate: { name: "Vox Example" }, questions: [{ prompt: "Why this role?" }] })
      })
      const body = (await r.json()) as { id: string; candidateToken: string }
      await consentToAll(server.url, { interviewId: body.id, candidateToken: body.candidateToken })
      const [questionId] = await questionIds(c, body.id)
      return { id: body.id, token: body.candidateToken, questionId: questionId! }
    }
    const upload = (a: { id: string; token: string; questionId: string }, contentType: string, bytes = 4096) =>
      c.call(`/v1/interviews/${a.id}/answers/audio?questionId=${a.questionId}`, {
        method: "POST",
        bearer: a.token,
        headers: { "content-type": contentType },
        body: new Uint8Array(bytes).fill(3)
      })

    beforeAll(async () => {
      fake = await startFakeOpenAi({
        transcript: "I enjoy building reliable systems and this team ships them.",
        respond: (r) => (r.path === "/v1/audio/transcriptions" ? transcription : undefined)
      })
      server = await startReportsServer(await backend.env(), fastConfig(fake, ["sk-audio-1234"], { samples: 1 }))
      c = client(server, (await server.seed()).apiKey)
    })
    afterAll(async () => {
      await server?.close()
      await fake?.close()
      await backend.cleanup()
    })

    it("transcribes, stores the transcript as the answer, and scores it", async () => {
      transcription = undefined
      const a = await newInterview()
      const r = await upload(a, "audio/webm;codecs=opus")
      expect(r.status).toBe(201)
      expect(await r.json()).toMatchObject({
        questionId: a.questionId,
        source: "audio",
        text: "I enjoy building reliable systems and this team ships them.",
        scoring: "queued"
      })
      const sent = fake.requests.filter((x) => x.path === "/v1/audio/transcriptions").at(-1)!
      expect(sent.body).toMatchObject({ model: "whisper-1", fileType: "audio/webm", fileBytes: 4096 })
      expect((await c.call(`/v1/interviews/${a.id}/finish`, { method: "POST", bearer: a.token })).status).toBe(200)
      const report = await completeReport(c, a.id)
      expect(report.questions[0]!.answer).toMatchObject({ source: "audio", transcriptionModel: "whisper-1" })
      expect(report.questions[0]!.scoring.status).toBe("scored")
      expect(report.models.transcription).toEqual(["whisper-1"])
    })

    it("refuses a recording without speech and stores nothing", async () => {
      transcription = { kind: "transcript", text: "  \n " }
      const a = await newInterview()
      const r = await upload(a, "audio/wav")
      expect(r.status).toBe(400)
      expect(((await r.json()) as any).error).toEqual({
        code: "empty_answer",
        message: "no speech was recognised in the recording"
      })
      expect(await countRows(server, "answers", a.id)).toBe(0)
    })

    it("answers 503 when transcription keeps failing, and stores nothing", async () => {
      transcription = { kind: "status", status: 500 }
      const a = await newInterview()
      const r = await upload(a, "audio/webm")
      expect(r.status).toBe(503)
      const error = ((await r.json()) as any).error
      expect(error.code).toBe("transcription_failed")
      expect(error.message).toMatch(/nothing was stored; retry/)
      expect(await countRows(server, "answers", a.id)).toBe(0)
    })
  })
}
