/**
 * A spoken answer in Chromium: an engine whose transcription goes to a local OpenAI-compatible server, Chromium's
 * fake microphone (a beep), the candidate page's "Record a spoken answer" control (MediaRecorder on the
 * microphone, posted to `/v1/interviews/:id/answers/audio`), and the transcript stored as the answer and shown in
 * the page. Screenshots go under `.tmp/screenshots/audio-*.png`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { browserAvailable, screenshot, watchPage } from "../support/Browser.ts"
import {
  begin,
  call,
  consentAndStart,
  createInterview,
  expectQuestion,
  type SpeakingSetup,
  startSpeaking
} from "./candidateFlow.ts"

const TRANSCRIPT = "I would split the work, tell the team early and ship the part that matters most."

describe.skipIf(!browserAvailable())("a spoken answer in Chromium", () => {
  let s: SpeakingSetup

  beforeAll(async () => {
    s = await startSpeaking(TRANSCRIPT)
  })

  afterAll(async () => {
    await s?.close()
  })

  it("records the microphone, sends it, and stores the transcript as the answer", async () => {
    const interview = await createInterview(s.candor)
    const page = await (await s.browser.newContext({ viewport: { width: 1000, height: 900 } })).newPage()
    const watch = watchPage(page, s.candor.engine.url)
    const uploads: Array<{ status: number; type: string | undefined }> = []
    page.on("requestfinished", async (r) => {
      if (!r.url().includes("/answers/audio")) return
      uploads.push({
        status: (await r.response())?.status() ?? 0,
        type: r.headers()["content-type"]
      })
    })
    await page.goto(interview.joinUrl)
    await page.getByTestId("consent").waitFor()
    // Transcription is configured: the notice names the voice, the page offers spoken answers.
    expect(await page.locator("#notice-view").textContent()).toContain("Your voice")
    await consentAndStart(page)
    await begin(page)
    await expectQuestion(page, 1, 2)
    const record = page.getByTestId("record-answer")
    expect(await record.textContent()).toBe("Record a spoken answer")

    await record.click()
    await expect.poll(() => record.textContent()).toBe("Stop recording and send")
    await page.waitForTimeout(1_500)
    await screenshot(page, "audio-recording")
    await record.click()
    await expect.poll(() => page.getByTestId("submit-answer").textContent(), { timeout: 30_000 }).toBe("Answer saved")
    expect(await page.getByTestId("answer").inputValue()).toBe(TRANSCRIPT)
    expect(await record.isDisabled()).toBe(true)
    await screenshot(page, "audio-saved")

    // The page sent the recording as audio/webm; the transcriber got it; the transcript is the stored answer.
    await expect.poll(() => uploads.length).toBe(1)
    expect(uploads[0]).toMatchObject({ status: 201, type: "audio/webm" })
    const sent = s.fake.requests.filter((r) => r.path === "/v1/audio/transcriptions")
    expect(sent).toHaveLength(1)
    expect(sent[0]!.body).toMatchObject({ model: "whisper-1", fileType: "audio/webm" })
    // About 1.5 s of Opus: some kilobytes of sound, not an empty recording.
    expect((sent[0]!.body as { fileBytes: number }).fileBytes).toBeGreaterThan(1000)
    const report = await call(s.candor, "GET", `/v1/interviews/${interview.id}/report`)
    expect(report.body.questions[0].answer).toMatchObject({
      text: TRANSCRIPT,
      source: "audio",
      transcriptionModel: "whisper-1"
    })
    expect(watch.foreign).toEqual([])
    expect(watch.problems).toEqual([])
  }, 120_000)
})
