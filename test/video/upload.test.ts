/**
 * Uploaded videos end to end on the engine: a 20-second MP4 made from a face photo is uploaded, its job analyses
 * it with progress, and the report (JSON and HTML) shows the frames analysed for that question; bad uploads are
 * refused at the door or fail their job with ffmpeg's reason and write nothing.
 */
import { readFile } from "node:fs/promises"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Report } from "../../schemas/Report.ts"
import type { VideoSummary } from "../../schemas/VideoAnalysis.ts"
import { backends } from "../support/Backends.ts"
import { consentToAll, recordConsent } from "../support/Consent.ts"
import { type Client, client, questionIds } from "../reports/support.ts"
import { followJob, makeFaceVideo, startVideoServer, tempDir, type VideoServer } from "./support.ts"

const rows = (server: VideoServer, text: string, interviewId: string) =>
  server.run(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(text, [interviewId])).pipe(
      Effect.map((r) => r as unknown as ReadonlyArray<Record<string, unknown>>)
    )
  )

for (const backend of backends()) {
  describe(`uploaded videos on ${backend.name}`, () => {
    let server: VideoServer
    let c: Client
    let dir: string
    let video: Uint8Array

    const newInterview = async (consent: "all" | "no-affect") => {
      const r = await c.call("/v1/interviews", {
        method: "POST",
        body: JSON.stringify({
          candidate: { name: "Vid Example" },
          questions: [{ prompt: "Tell us about yourself." }, { prompt: "Why this role?" }]
        })
      })
      const body = (await r.json()) as { id: string; candidateToken: string }
      const who = { interviewId: body.id, candidateToken: body.candidateToken }
      if (consent === "all") await consentToAll(server.url, who)
      else {
        await recordConsent(server.url, who, "data_processing")
        await recordConsent(server.url, who, "affect_analysis", false)
      }
      return { id: body.id, questions: await questionIds(c, body.id) }
    }

    const upload = (interviewId: string, questionId: string, body: Uint8Array, contentType = "video/mp4") =>
      c.call(`/v1/interviews/${interviewId}/video?questionId=${questionId}`, {
        method: "POST",
        headers: { "content-type": contentType },
        body
      })

    const uploadJob = async (interviewId: string, questionId: string, body: Uint8Array) => {
      const r = await upload(interviewId, questionId, body)
      expect(r.status).toBe(202)
      return ((await r.json()) as { jobId: string }).jobId
    }

    beforeAll(async () => {
      dir = await tempDir()
      video = await readFile(await makeFaceVideo(dir, { seconds: 20, blankSeconds: 2 }))
      server = await startVideoServer({
        ...(await backend.env()),
        MEDIA_DIR: Path.join(dir, "media"),
        VIDEO_MAX_BYTES: "4000000"
      })
      c = client(server, (await server.seed()).apiKey)
    }, 120_000)
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("analyses a 20-second MP4 with progress, and the report shows that question's frames", async () => {
      const interview = await newInterview("all")
      const [first, second] = interview.questions
      const started = performance.now()
      const jobId = await uploadJob(interview.id, second!, video)
      const seen = await followJob(c, jobId)
      const elapsed = performance.now() - started
      const last = seen.at(-1)!
      expect(last, JSON.stringify(last)).toMatchObject({
        status: "succeeded",
        progress: 1,
        attempts: 1,
        result: { questionId: second, frames: 100, seconds: 20, facePresence: 0.9 }
      })
      console.info(`video.analyze: 20 s clip uploaded and analysed in ${(elapsed / 1000).toFixed(2)} s`)

      // Progress went up while it ran, never backwards.
      const progress = seen.map((j) => j.progress)
      expect(progress.every((p, i) => i === 0 || p >= progress[i - 1]!)).toBe(true)
      expect(new Set(progress.filter((p) => p > 0 && p < 1)).size).toBeGreaterThanOrEqual(2)
      expect(seen.some((j) => j.status === "running")).toBe(true)

      const report = (await (await c.call(`/v1/interviews/${interview.id}/report`)).json()) as Report
      const q1 = report.questions.find((q) => q.questionId === first)!
      const q2 = report.questions.find((q) => q.questionId === second)!
      expect(q1.signals).toBeNull()
      expect(q2.signals).toMatchObject({
        source: "upload",
        jobId,
        frames: 100,
        seconds: 20,
        facePresence: 0.9,
        multipleFaces: 0,
        dominant: "happy"
      })
      expect(q2.signals!.emotion!.happy).toBeGreaterThan(0.5)
      expect(q2.signals!.blinks).toBe(0)
      expect(report.models.vision).not.toBeNull()

      const html = await (await c.call(`/v1/interviews/${interview.id}/report.html`)).text()
      expect(html).toContain(`data-testid="upload-signals"`)
      expect(html).toContain(`<b data-testid="upload-frames">100</b> frames analysed over 20 s`)
      expect(html).toContain("face present in 90 %")

      // One row per job, the summary whole; the live session's events are untouched.
      const stored = await rows(server, "SELECT * FROM video_analyses WHERE interview_id = $1", interview.id)
      expect(stored).toHaveLength(1)
      const summary = (
        typeof stored[0]!.summary === "string" ? JSON.parse(stored[0]!.summary as string) : stored[0]!.summary
      ) as VideoSummary
      expect(summary.timeline).toHaveLength(20)
      expect(summary.timeline.at(-1)).toMatchObject({ second: 19, frames: 5, facePresence: 0, dominant: null })
      expect(await rows(server, "SELECT * FROM score_events WHERE interview_id = $1", interview.id)).toHaveLength(0)
      expect(await rows(server, "SELECT * FROM score_windows WHERE interview_id = $1", interview.id)).toHaveLength(0)

      // A re-run of the same job (its engine was killed before it ended) leaves the one row it replaces.
      expect(Exit.isSuccess(await server.rerunJob(jobId))).toBe(true)
      expect(await rows(server, "SELECT * FROM video_analyses WHERE interview_id = $1", interview.id)).toHaveLength(1)

      // An access request gets the analysis too, with the video's key in the media store.
      const exported = (await (await c.call(`/v1/interviews/${interview.id}/export`)).json()) as any
      expect(exported.videoAnalyses).toMatchObject([{ jobId, questionId: second, summary: { frames: 100 } }])
      expect(exported.videoAnalyses[0].mediaKey).toMatch(new RegExp(`^${interview.id}/videos/`))
    }, 120_000)

    it("measures no emotion or blinks when the candidate declined affect analysis", async () => {
      const interview = await newInterview("no-affect")
      const jobId = await uploadJob(interview.id, interview.questions[0]!, video)
      expect((await followJob(c, jobId)).at(-1)).toMatchObject({ status: "succeeded" })
      const stored = await rows(server, "SELECT summary FROM video_analyses WHERE interview_id = $1", interview.id)
      const summary = (
        typeof stored[0]!.summary === "string" ? JSON.parse(stored[0]!.summary as string) : stored[0]!.summary
      ) as VideoSummary
      expect(summary).toMatchObject({ affect: false, emotion: null, dominant: null, blinks: null, frames: 100 })
      expect(summary.timeline.every((s) => s.emotion === null && s.blinks === null)).toBe(true)
      const report = (await (await c.call(`/v1/interviews/${interview.id}/report`)).json()) as Report
      expect(report.questions[0]!.signals).toMatchObject({ source: "upload", facePresence: 0.9, emotion: null })
    }, 120_000)

    it("fails the job of a truncated, corrupt or non-video upload with ffmpeg's reason, writing nothing", async () => {
      const interview = await newInterview("all")
      const questionId = interview.questions[0]!
      const faststart = await readFile(await makeFaceVideo(dir, { seconds: 6, name: "fast.mp4", faststart: true }))
      const cases: Array<[string, Uint8Array, RegExp]> = [
        ["truncated", video.subarray(0, Math.floor(video.length / 2)), /moov atom not found/],
        [
          "truncated with its index first",
          faststart.subarray(0, Math.floor(faststart.length * 0.6)),
          /partial file|Invalid data|corrupt/
        ],
        [
          "not a video",
          new TextEncoder().encode("this is a text file, not a video\n".repeat(50)),
          /not a readable video/
        ]
      ]
      for (const [what, bytes, reason] of cases) {
        const jobId = await uploadJob(interview.id, questionId, bytes)
        const last = (await followJob(c, jobId)).at(-1)!
        // Failed for good at the first attempt: bad input is not retried.
        expect(last, what).toMatchObject({ status: "failed", attempts: 1 })
        expect(last.error, what).toMatch(/^not a readable video \(ffmpeg: /)
        expect(last.error, what).toMatch(reason)
      }
      expect(await rows(server, "SELECT * FROM video_analyses WHERE interview_id = $1", interview.id)).toHaveLength(0)
    }, 120_000)

    it("refuses other types (415), unknown questions (400), empty and oversized bodies, unknown interviews", async () => {
      const interview = await newInterview("all")
      const questionId = interview.questions[0]!
      const quicktime = await upload(interview.id, questionId, video, "video/quicktime")
      expect(quicktime.status).toBe(415)
      expect(((await quicktime.json()) as any).error.message).toContain("video/mp4, video/webm")
      const unknown = await upload(interview.id, "no-such-question", video)
      expect(unknown.status).toBe(400)
      expect(((await unknown.json()) as any).error.code).toBe("unknown_question")
      expect((await upload(interview.id, questionId, new Uint8Array(0))).status).toBe(400)
      expect((await upload(interview.id, questionId, new Uint8Array(4_000_001))).status).toBe(413)
      expect((await upload(crypto.randomUUID(), questionId, video)).status).toBe(404)
      const webm = await upload(interview.id, questionId, video, "video/webm;codecs=vp8")
      expect(webm.status).toBe(202)
      const { jobId } = (await webm.json()) as { jobId: string }
      // Another tenant does not see the job.
      const other = await server.seed()
      expect((await c.call(`/v1/jobs/${jobId}`, { bearer: other.apiKey })).status).toBe(404)
    }, 60_000)
  })
}
