/**
 * One whole interview in Chromium on embedded defaults, both people in their own browser context: the candidate
 * opens `joinUrl`, reads the notice, consents, passes the camera check on a fake camera (a face photo), streams for
 * more than 20 s while answering two questions by typing, and finishes; the recruiter, signed in with the API key,
 * watches live events arrive meanwhile and then reads the report: scores, charts and heat-maps that render.
 * Screenshots go under `.tmp/screenshots/interview-*.png`.
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Browser } from "playwright-core"
import { singleFaceJpeg } from "../inference/fixtures.ts"
import { browserAvailable, launchBrowser, screenshot, watchPage, writeFakeCamera } from "../support/Browser.ts"
import {
  answer,
  begin,
  type CreatedInterview,
  call,
  consentAndStart,
  createInterview,
  type Engine,
  expectQuestion,
  startCandor
} from "./candidateFlow.ts"

// Page functions run in Chromium; the project's TypeScript has no DOM library.
declare const document: any

const STREAM_MS = 21_000

describe.skipIf(!browserAvailable())("an interview in Chromium, candidate and recruiter side by side", () => {
  let e: Engine
  let browser: Browser
  let interview: CreatedInterview

  beforeAll(async () => {
    const camera = writeFakeCamera(await singleFaceJpeg(), join(tmpdir(), `candor-e2e-${process.pid}.y4m`))
    // The engine and Chromium start side by side; whichever started is stopped after all, even if the other failed.
    const started = await Promise.allSettled([
      startCandor().then((engine) => (e = engine)),
      camera.then(launchBrowser).then((chromium) => (browser = chromium))
    ])
    for (const s of started) if (s.status === "rejected") throw s.reason
    interview = await createInterview(e)
  })
  afterAll(async () => {
    await browser?.close()
    await e?.close()
  })

  it("streams, answers two typed questions and finishes while the recruiter watches, then shows the report", async () => {
    // The recruiter signs in and opens the live view of the interview.
    const recruiter = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
    const recruiterWatch = watchPage(recruiter, e.engine.url)
    await recruiter.goto(`${e.engine.url}/`)
    await recruiter.getByTestId("api-key").fill(e.apiKey)
    await recruiter.getByTestId("sign-in").click()
    const row = recruiter.locator(`[data-testid=interview-row][data-id="${interview.id}"]`)
    await row.waitFor()
    await row.getByTestId("open-live").click()
    await recruiter.locator("#live-connection", { hasText: "connected" }).waitFor()
    const liveEvents = () => recruiter.getByTestId("live-events").locator("li").count()
    const before = await liveEvents()

    // The candidate opens the link: the notice comes first, the camera only after consent.
    const candidate = await (await browser.newContext({ viewport: { width: 1024, height: 900 } })).newPage()
    const candidateWatch = watchPage(candidate, e.engine.url)
    await candidate.goto(interview.joinUrl)
    await candidate.getByTestId("consent").waitFor()
    const notice = (await candidate.locator("main").textContent()) ?? ""
    expect(notice).toMatch(/face/i)
    expect(notice).toMatch(/person/i)
    await screenshot(candidate, "interview-notice")
    await consentAndStart(candidate)
    await begin(candidate)
    const streamingSince = Date.now()
    await expectQuestion(candidate, 1, 2)

    // Live events reach the recruiter while the candidate streams.
    await expect.poll(liveEvents, { timeout: 20_000 }).toBeGreaterThan(before + 3)
    await recruiter.locator("#live-face").filter({ hasText: "%" }).waitFor()
    const midway = await liveEvents()

    await answer(candidate, "I rebuilt our billing exports: a queue, idempotent writers and a nightly check.")
    await candidate.waitForTimeout(Math.max(0, STREAM_MS / 2 - (Date.now() - streamingSince)))
    await candidate.getByTestId("next").click()
    await expectQuestion(candidate, 2, 2)
    await screenshot(candidate, "interview-question")
    await answer(candidate, "I say so early, agree what to cut with the team, and write the new date down.")
    await candidate.waitForTimeout(Math.max(0, STREAM_MS - (Date.now() - streamingSince)))
    const streamedMs = Date.now() - streamingSince
    await candidate.getByTestId("finish").click()
    await candidate.getByTestId("done").waitFor({ timeout: 20_000 })
    await screenshot(candidate, "interview-done")
    expect(streamedMs).toBeGreaterThanOrEqual(20_000)

    await recruiter.getByTestId("live-events").locator("li[data-tag=interviewFinished]").waitFor({ timeout: 20_000 })
    expect(await liveEvents()).toBeGreaterThan(midway)
    expect(await recruiter.getByTestId("live-events").locator("li[data-tag=answerRecorded]").count()).toBe(2)
    await screenshot(recruiter, "interview-live")

    // The report is complete once both answers are scored (offline scorer) and the keyframes are stored.
    let report: any
    await expect
      .poll(
        async () => {
          report = (await call(e, "GET", `/v1/interviews/${interview.id}/report`)).body
          return report.complete === true && report.keyframes.some((k: any) => k.kind === "heatmap")
        },
        { timeout: 60_000, interval: 250 }
      )
      .toBe(true)
    expect(report.status).toBe("finished")
    expect(report.questions.map((q: any) => q.answer?.text.length > 0)).toEqual([true, true])
    // More than 20 s of video were analysed, second by second.
    expect(report.timeline.length).toBeGreaterThanOrEqual(18)

    await recruiter.locator("#live").getByTestId("open-report").click()
    await recruiter.getByTestId("report").waitFor()
    expect(await recruiter.getByTestId("overall-score").textContent()).toMatch(/\d+(\.\d)? \/ 100/)
    expect(await recruiter.getByTestId("question-score").count()).toBe(2)
    expect(await recruiter.getByTestId("timeline").count()).toBe(1)
    expect(await recruiter.locator(".chart").count()).toBeGreaterThanOrEqual(3)
    const heatmaps = recruiter.getByTestId("heatmap")
    expect(await heatmaps.count()).toBeGreaterThanOrEqual(1)
    await heatmaps.first().scrollIntoViewIfNeeded()
    await recruiter.waitForFunction(() =>
      [...document.querySelectorAll("[data-testid=heatmap]")].some(
        (img: any) => img.complete === true && img.naturalWidth > 0
      )
    )
    await screenshot(recruiter, "interview-report")

    // Neither page asked any other origin for anything, nor logged an error.
    for (const watched of [candidateWatch, recruiterWatch]) {
      expect(watched.foreign).toEqual([])
      expect(watched.problems.filter((p) => !/status of 40[13]/.test(p))).toEqual([])
    }
  }, 180_000)
})
