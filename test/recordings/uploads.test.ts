/**
 * Recorded answers over the upload API: a resumable upload in parts (a part at the wrong offset is refused with the
 * server's offset, and the upload resumes from there), the size limit, the refusals, the recording stored and
 * served in byte ranges for the report's player, and its sound transcribed into the answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type FakeOpenAi, startFakeOpenAi } from "../answers/FakeOpenAiServer.ts"
import { fastConfig } from "../answers/support.ts"
import { backends } from "../support/Backends.ts"
import { recordConsent } from "../support/Consent.ts"
import { startReportsServer } from "../support/ReportsServer.ts"
import type { TestServer } from "../support/TestServer.ts"
import { type Client, client, completeReport, countRows, questionIds } from "../reports/support.ts"
import { makeWebm } from "./support.ts"

const limit = 1024 * 1024

for (const backend of backends()) {
  describe(`recorded answers on ${backend.name}`, () => {
    let server: TestServer
    let fake: FakeOpenAi
    let c: Client
    let webm: Uint8Array

    const newInterview = async (mode?: "live" | "recorded", consents = ["data_processing", "recording"] as const) => {
      const r = await c.call("/v1/interviews", {
        method: "POST",
        body: JSON.stringify({
          candidate: { name: "Rec Example" },
          ...(mode === undefined ? {} : { mode }),
          questions: [{ prompt: "Why this role?" }, { prompt: "What did you ship last?" }]
        })
      })
      expect(r.status).toBe(201)
      const body = (await r.json()) as { id: string; candidateToken: string }
      const interview = { interviewId: body.id, candidateToken: body.candidateToken }
      for (const kind of consents) expect((await recordConsent(server.url, interview, kind)).status).toBe(201)
      const questions = await questionIds(c, body.id)
      return { id: body.id, token: body.candidateToken, questions }
    }
    type Interview = Awaited<ReturnType<typeof newInterview>>

    const start = (a: Interview, questionId: string, query = "") =>
      c.call(`/v1/interviews/${a.id}/recordings?questionId=${questionId}&contentType=video/webm${query}`, {
        method: "POST",
        bearer: a.token
      })
    const put = (a: Interview, uploadId: string, offset: number, part: Uint8Array) =>
      c.call(`/v1/interviews/${a.id}/recordings/${uploadId}`, {
        method: "PUT",
        bearer: a.token,
        headers: { "content-type": "application/octet-stream", "upload-offset": String(offset) },
        body: part
      })
    const complete = (a: Interview, uploadId: string) =>
      c.call(`/v1/interviews/${a.id}/recordings/${uploadId}/complete`, { method: "POST", bearer: a.token })

    beforeAll(async () => {
      webm = makeWebm({ seconds: 2 })
      fake = await startFakeOpenAi({ transcript: "I recorded this answer and it was transcribed from its sound." })
      server = await startReportsServer(
        { ...(await backend.env()), RECORDING_MAX_BYTES: String(limit) },
        fastConfig(fake, ["sk-rec-1234"], { samples: 1 })
      )
      c = client(server, (await server.seed()).apiKey)
    })
    afterAll(async () => {
      await server?.close()
      await fake?.close()
      await backend.cleanup()
    })

    it("stores the mode: live by default, recorded when asked, shown to the candidate page", async () => {
      const live = await newInterview()
      expect(((await (await c.call(`/v1/interviews/${live.id}`)).json()) as any).mode).toBe("live")
      const rec = await newInterview("recorded")
      expect(((await (await c.call(`/v1/interviews/${rec.id}`)).json()) as any).mode).toBe("recorded")
      const view = (await (await c.call(`/v1/interviews/${rec.id}/candidate`, { bearer: rec.token })).json()) as any
      expect(view).toMatchObject({
        mode: "recorded",
        recording: { maxBytes: limit, chunkBytes: 4 * 1024 * 1024, transcribed: true }
      })
    })

    it("uploads in parts, resumes after a wrong offset, stores, serves ranges and transcribes", async () => {
      const a = await newInterview("recorded")
      const q = a.questions[0]!
      const started = await start(a, q, `&size=${webm.byteLength}`)
      expect(started.status).toBe(201)
      const { uploadId, offset } = (await started.json()) as { uploadId: string; offset: number }
      expect(offset).toBe(0)

      const cut = Math.floor(webm.byteLength / 3)
      const first = await put(a, uploadId, 0, webm.subarray(0, cut))
      expect(first.status).toBe(200)
      expect(((await first.json()) as any).offset).toBe(cut)
      // The client thinks the first part was lost and sends it again: refused with where the upload stands.
      const again = await put(a, uploadId, 0, webm.subarray(0, cut))
      expect(again.status).toBe(409)
      expect(again.headers.get("upload-offset")).toBe(String(cut))
      const body = (await again.json()) as any
      expect(body).toMatchObject({ error: { code: "offset_mismatch" }, offset: cut })
      // A part past the end is refused the same way.
      expect((await put(a, uploadId, cut + 10, webm.subarray(cut))).status).toBe(409)
      const status = (await (
        await c.call(`/v1/interviews/${a.id}/recordings/${uploadId}`, { bearer: a.token })
      ).json()) as any
      expect(status).toMatchObject({ offset: cut, status: "uploading" })
      // Resume from the server's offset.
      const second = await put(a, uploadId, body.offset, webm.subarray(body.offset, 2 * cut))
      expect(second.status).toBe(200)
      const third = await put(a, uploadId, 2 * cut, webm.subarray(2 * cut))
      expect(((await third.json()) as any).offset).toBe(webm.byteLength)

      const done = await complete(a, uploadId)
      expect(done.status).toBe(200)
      const result = (await done.json()) as any
      expect(result).toMatchObject({
        uploadId,
        questionId: q,
        bytes: webm.byteLength,
        url: `/v1/interviews/${a.id}/media/recordings/${q}.webm`,
        transcription: { status: "stored", message: null },
        answer: { source: "audio", text: "I recorded this answer and it was transcribed from its sound." }
      })
      // The transcriber got the sound only, as Opus in WebM.
      const sent = fake.requests.filter((x) => x.path === "/v1/audio/transcriptions").at(-1)!
      expect(sent.body).toMatchObject({ fileType: "audio/webm" })
      expect((sent.body as any).fileBytes).toBeLessThan(webm.byteLength)
      // Completing again gives the same recording, and no second answer.
      expect(((await (await complete(a, uploadId)).json()) as any).answer.duplicate).toBe(true)
      expect(await countRows(server, "answers", a.id)).toBe(1)
      // A second recording of the same question is refused.
      expect(((await (await start(a, q)).json()) as any).error.code).toBe("already_recorded")

      // Served whole and in ranges, as a video element asks: the WebM as uploaded, rewritten with its index.
      const whole = await c.call(result.url)
      expect(whole.status).toBe(200)
      expect(whole.headers.get("content-type")).toBe("video/webm")
      expect(whole.headers.get("accept-ranges")).toBe("bytes")
      const stored = new Uint8Array(await whole.arrayBuffer())
      expect([...stored.subarray(0, 4)]).toEqual([0x1a, 0x45, 0xdf, 0xa3])
      expect(Math.abs(stored.byteLength - webm.byteLength)).toBeLessThan(webm.byteLength / 10)
      const size = stored.byteLength
      const part = await c.call(result.url, { headers: { range: "bytes=100-199" } })
      expect(part.status).toBe(206)
      expect(part.headers.get("content-range")).toBe(`bytes 100-199/${size}`)
      expect(new Uint8Array(await part.arrayBuffer())).toEqual(stored.subarray(100, 200))
      const open = await c.call(result.url, { headers: { range: "bytes=1000-" } })
      expect(open.status).toBe(206)
      expect((await open.arrayBuffer()).byteLength).toBe(size - 1000)
      const suffix = await c.call(result.url, { headers: { range: "bytes=-10" } })
      expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(stored.subarray(size - 10))
      const past = await c.call(result.url, { headers: { range: `bytes=${size}-` } })
      expect(past.status).toBe(416)
      expect(past.headers.get("content-range")).toBe(`bytes */${size}`)
      // The upload's parts are gone; only the recording stays.
      expect((await c.call(`/v1/interviews/${a.id}/media/uploads/${uploadId}`)).status).toBe(404)

      expect((await c.call(`/v1/interviews/${a.id}/finish`, { method: "POST", bearer: a.token })).status).toBe(200)
      const report = await completeReport(c, a.id)
      expect(report.questions[0]!.answer).toMatchObject({ source: "audio" })
      expect(report.questions[0]!.scoring.status).toBe("scored")
      expect(report.keyframes.filter((k) => k.kind === "recording")).toMatchObject([
        { url: result.url, bytes: size, contentType: "video/webm", detail: { questionId: q } }
      ])
      const html = await (await c.call(`/v1/interviews/${a.id}/report.html`)).text()
      expect(html).toContain(`<video controls preload="metadata" src="${result.url}"`)
      expect(html).toContain("Recording of the answer to question 1")
    })

    it("keeps a recording without sound, and says the answer is to be typed", async () => {
      const a = await newInterview("recorded")
      const silent = makeWebm({ seconds: 1, sound: false })
      const { uploadId } = (await (await start(a, a.questions[1]!)).json()) as any
      expect((await put(a, uploadId, 0, silent)).status).toBe(200)
      const result = (await (await complete(a, uploadId)).json()) as any
      expect(result.transcription).toEqual({ status: "failed", message: expect.stringContaining("no sound") })
      expect(result.answer).toBeNull()
      expect((await c.call(result.url)).status).toBe(200)
      expect(await countRows(server, "answers", a.id)).toBe(0)
    })

    it("refuses a recording over the limit, at start and while uploading, with a clear message", async () => {
      const a = await newInterview("recorded")
      const q = a.questions[0]!
      const declared = await start(a, q, `&size=${limit + 1}`)
      expect(declared.status).toBe(413)
      expect(((await declared.json()) as any).error).toEqual({
        code: "recording_too_large",
        message: `the recording is larger than the limit of 1 MB (${limit} bytes); record a shorter answer`
      })
      const { uploadId } = (await (await start(a, q)).json()) as any
      const part = new Uint8Array(600 * 1024).fill(7)
      expect((await put(a, uploadId, 0, part)).status).toBe(200)
      const over = await put(a, uploadId, part.byteLength, part)
      expect(over.status).toBe(413)
      expect(((await over.json()) as any).error.code).toBe("recording_too_large")
      // A part over the request limit is refused before it is read.
      const huge = await put(a, uploadId, part.byteLength, new Uint8Array(4 * 1024 * 1024 + 1))
      expect(huge.status).toBe(413)
    })

    it("refuses recordings of live interviews, without consent, of unknown questions, and bad offsets", async () => {
      const live = await newInterview("live")
      expect(((await (await start(live, live.questions[0]!)).json()) as any).error.code).toBe("not_recorded")
      const noConsent = await newInterview("recorded", ["data_processing"] as never)
      const refused = await start(noConsent, noConsent.questions[0]!)
      expect(refused.status).toBe(403)
      expect(((await refused.json()) as any).error.code).toBe("consent_required")
      const a = await newInterview("recorded")
      expect((await start(a, "00000000-0000-0000-0000-000000000000")).status).toBe(400)
      const { uploadId } = (await (await start(a, a.questions[0]!)).json()) as any
      const noHeader = await c.call(`/v1/interviews/${a.id}/recordings/${uploadId}`, {
        method: "PUT",
        bearer: a.token,
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(10)
      })
      expect(noHeader.status).toBe(400)
      expect((await complete(a, uploadId)).status).toBe(400)
      const other = await newInterview("recorded")
      expect((await put(other, uploadId, 0, new Uint8Array(10))).status).toBe(404)
      expect((await c.call(`/v1/interviews/${a.id}/recordings/${uploadId}`, { bearer: other.token })).status).toBe(403)
    })
  })
}
