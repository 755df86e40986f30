/**
 * A recorded-mode interview in Chromium with the fake camera (a face photo) and the fake microphone (a beep): the
 * recruiter creates it in the console with the mode select, the candidate records two answers as video with sound
 * while the frames stream, each upload shows its progress and survives a dropped connection (the part reached the
 * server, its answer did not: the page resumes at the server's offset), the sound is transcribed (a local
 * OpenAI-compatible server) into the answers, and the report plays both recordings in `<video>` elements.
 * Screenshots go under `.tmp/screenshots/recorded-*.png`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Page } from "playwright-core"
import { browserAvailable, screenshot, watchPage } from "../support/Browser.ts"
import { begin, call, consentAndStart, expectQuestion, type SpeakingSetup, startSpeaking } from "./candidateFlow.ts"

// Page functions run in Chromium; the project's TypeScript has no DOM library.
declare const document: any

const TRANSCRIPT = "I recorded this answer on camera and said what I meant."

describe.skipIf(!browserAvailable())("a recorded-mode interview in Chromium", () => {
  let s: SpeakingSetup

  beforeAll(async () => {
    s = await startSpeaking(TRANSCRIPT)
  })

  afterAll(async () => {
    await s?.close()
  })

  /** Records for `ms`, stops, and waits until the upload is done and the transcript is the saved answer. */
  const recordAnswer = async (page: Page, ms: number, shot?: string) => {
    await page.getByTestId("record-video").click()
    await expect.poll(() => page.getByTestId("record-video").textContent()).toBe("Stop recording")
    await page.waitForTimeout(ms)
    expect(await page.getByTestId("upload-label").textContent()).toMatch(/^Recording: \d+ s$/)
    if (shot !== undefined) await screenshot(page, shot)
    await page.getByTestId("record-video").click()
    await expect
      .poll(() => page.getByTestId("upload-label").textContent(), { timeout: 30_000 })
      .toBe("Your recording is uploaded.")
    expect(await page.getByTestId("upload-progress").evaluate((p: any) => p.value)).toBe(100)
    await expect.poll(() => page.getByTestId("submit-answer").textContent(), { timeout: 30_000 }).toBe("Answer saved")
    expect(await page.getByTestId("record-video").textContent()).toBe("Answer recorded")
  }

  it("records two answers with sound, uploads them resumably, transcribes them and plays them in the report", async () => {
    // The recruiter creates the interview in the console, choosing recorded mode.
    const recruiter = await (await s.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
    const recruiterWatch = watchPage(recruiter, s.candor.engine.url)
    await recruiter.goto(`${s.candor.engine.url}/`)
    await recruiter.getByTestId("api-key").fill(s.candor.apiKey)
    await recruiter.getByTestId("sign-in").click()
    await recruiter.getByTestId("candidate-name").waitFor()
    await recruiter.getByTestId("candidate-name").fill("Rita Recorded")
    await recruiter.getByTestId("interview-mode").selectOption("recorded")
    await recruiter.getByLabel("Prompt").first().fill("Tell us about a project you are proud of.")
    await recruiter.getByRole("button", { name: "Add a question" }).click()
    await recruiter.getByLabel("Prompt").nth(1).fill("How do you handle a deadline you cannot meet?")
    await screenshot(recruiter, "recorded-console-create")
    await recruiter.getByTestId("create-submit").click()
    const joinUrl = await (async () => {
      await recruiter.getByTestId("join-url").waitFor()
      await expect.poll(() => recruiter.getByTestId("join-url").inputValue()).toContain("#token=")
      return recruiter.getByTestId("join-url").inputValue()
    })()
    const id = /\/join\/([^#]+)#/.exec(joinUrl)![1]!
    expect((await call(s.candor, "GET", `/v1/interviews/${id}`)).body.mode).toBe("recorded")

    // The candidate: the notice says that answers are recorded with the voice.
    const candidate = await (await s.browser.newContext({ viewport: { width: 1000, height: 900 } })).newPage()
    const candidateWatch = watchPage(candidate, s.candor.engine.url)
    const frames: Array<number> = []
    candidate.on("websocket", (ws) =>
      ws.on("framesent", (f) => {
        if (typeof f.payload !== "string") frames.push(Date.now())
      })
    )
    // The first part reaches the server but its answer is lost, as on a dropped connection.
    const puts: Array<number> = []
    let dropped = 0
    await candidate.route(
      (url) => /\/recordings\/[^/]+$/.test(url.pathname),
      async (route) => {
        if (route.request().method() !== "PUT" || dropped > 0) return route.continue()
        dropped++
        await route.fetch()
        await route.abort("connectionreset")
      }
    )
    candidate.on("response", (r) => {
      if (r.request().method() === "PUT" && r.url().includes("/recordings/")) puts.push(r.status())
    })
    await candidate.goto(joinUrl)
    await candidate.getByTestId("consent").waitFor()
    expect(await candidate.locator("#notice-view").textContent()).toContain("Your camera video and your voice")
    await consentAndStart(candidate)
    await begin(candidate)
    await expectQuestion(candidate, 1, 2)
    expect(await candidate.getByTestId("record-video").isEnabled()).toBe(true)
    // Recorded mode: the separate spoken-answer control is not offered (the recording has the sound).
    expect(await candidate.getByTestId("record-answer").count()).toBe(0)
    await screenshot(candidate, "recorded-question")

    const before = frames.length
    await recordAnswer(candidate, 3_000, "recorded-recording")
    // Frames kept streaming for the live analysis while the answer was recorded.
    expect(frames.length - before).toBeGreaterThan(5)
    await screenshot(candidate, "recorded-uploaded")
    // The dropped part was sent again at offset 0, answered 409 with the server's offset, and the upload went on.
    expect(dropped).toBe(1)
    expect(puts).toContain(409)

    await candidate.getByTestId("next").click()
    await expectQuestion(candidate, 2, 2)
    expect(await candidate.getByTestId("upload-progress").isVisible()).toBe(false)
    await recordAnswer(candidate, 2_000)
    await candidate.getByTestId("finish").click()
    await candidate.getByTestId("done").waitFor({ timeout: 20_000 })

    // Both recordings are stored and indexed, both transcripts are the answers, scored like typed ones.
    let report: any
    await expect
      .poll(
        async () => {
          report = (await call(s.candor, "GET", `/v1/interviews/${id}/report`)).body
          return report.complete === true && report.keyframes.filter((k: any) => k.kind === "recording").length
        },
        { timeout: 60_000, interval: 250 }
      )
      .toBe(2)
    expect(report.questions.map((q: any) => [q.answer?.source, q.answer?.text, q.scoring.status])).toEqual([
      ["audio", TRANSCRIPT, "scored"],
      ["audio", TRANSCRIPT, "scored"]
    ])
    const transcribed = s.fake.requests.filter((r) => r.path === "/v1/audio/transcriptions")
    expect(transcribed.map((r) => (r.body as any).fileType)).toEqual(["audio/webm", "audio/webm"])

    // The report plays each recording next to its answer; the media route answers the player's ranges.
    const ranges: Array<number> = []
    recruiter.on("response", (r) => {
      if (r.url().includes("/media/recordings/")) ranges.push(r.status())
    })
    await recruiter.goto(`${s.candor.engine.url}/v1/interviews/${id}/report.html`)
    const videos = recruiter.getByTestId("recording")
    expect(await videos.count()).toBe(2)
    for (let i = 0; i < 2; i++) {
      const video = videos.nth(i)
      await video.scrollIntoViewIfNeeded()
      const played = await video.evaluate(async (v: any) => {
        v.muted = true
        await v.play()
        await new Promise((resolve) => setTimeout(resolve, 800))
        v.pause()
        const playedTo = v.currentTime
        // Seeking needs the recording's index and byte ranges.
        v.currentTime = v.duration / 2
        await new Promise((resolve) => v.addEventListener("seeked", resolve, { once: true }))
        return { readyState: v.readyState, duration: v.duration, playedTo, seekedTo: v.currentTime, error: v.error }
      })
      expect(played.error).toBeNull()
      expect(played.readyState).toBeGreaterThanOrEqual(2)
      expect(Number.isFinite(played.duration)).toBe(true)
      expect(played.duration).toBeGreaterThan(1)
      expect(played.playedTo).toBeGreaterThan(0)
      expect(played.seekedTo).toBeGreaterThan(0.5)
    }
    expect(ranges).toContain(206)
    const caption = await recruiter.locator("figure.recording figcaption").first().textContent()
    expect(caption).toContain("Recording of the answer to question 1")
    await recruiter.evaluate(() => document.querySelector("[data-testid=recording]").scrollIntoView())
    await screenshot(recruiter, "recorded-report")

    for (const watched of [candidateWatch, recruiterWatch]) {
      expect(watched.foreign).toEqual([])
      expect(watched.problems.filter((p) => !/status of 40[139]|ERR_CONNECTION_RESET|net::ERR_FAILED/.test(p))).toEqual(
        []
      )
    }
  }, 180_000)
})
