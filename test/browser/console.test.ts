/**
 * The recruiter console and the report page in Chromium against a real engine process on embedded defaults: sign
 * in (keyboard only) into the HttpOnly session cookie, list and create interviews, watch one live while a scripted
 * candidate streams face photos and answers over the candidate socket, read its report (scores, charts, heat-maps
 * that render), add a decision through the report's form, CSRF refusal, sign out, and a 320 px wide screen.
 * Screenshots of every state go under `.tmp/screenshots/console-*.png`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { browserAvailable, launchBrowser, screenshot, watchPage } from "../support/Browser.ts"
import { consentToAll } from "../support/Consent.ts"
import { type EngineProcess, freePort, seedEngine, startEngineProcess } from "../support/EngineProcess.ts"
import { Client } from "../sessions/support/Candidate.ts"
import { faceFrames } from "../sessions/support/faces.ts"

interface Seed {
  readonly tenantId: string
  readonly apiKey: string
  readonly interviewId: string
  readonly candidateToken: string
}

const goodAnswers = [
  "I added a queue in front of the workers and shed load at the edge, so a tenfold spike only made the queue longer.",
  "We disagreed about a cache; I built a small prototype, we measured it together and chose from the data."
] as const

// Page functions run in Chromium; the project's TypeScript has no DOM library.
declare const document: any
declare const window: any

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe.skipIf(!browserAvailable())("recruiter console and report page in Chromium", () => {
  let dataDir: string
  let engine: EngineProcess
  let seed: Seed
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let watched: ReturnType<typeof watchPage>

  /** The API as an integration calls it (Bearer key), for setting the scene. */
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${engine.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${seed.apiKey}`, "content-type": "application/json", ...init.headers }
    })

  const rows = () => page.getByTestId("interview-row")

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "candor-console-"))
    const port = await freePort()
    const env = { CANDOR_DATA_DIR: dataDir, CANDOR_DEMO: "false", INFERENCE_WORKERS: "1" }
    // The engine and Chromium start side by side; whichever started is stopped after all, even if the other failed.
    const started = await Promise.allSettled([
      (async () => {
        engine = await startEngineProcess(env, port)
        seed = await seedEngine(env)
        await consentToAll(engine.url, seed)
      })(),
      launchBrowser().then((chromium) => (browser = chromium))
    ])
    for (const s of started) if (s.status === "rejected") throw s.reason
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
    watched = watchPage(page, engine.url)
  })

  afterAll(async () => {
    await browser?.close()
    await engine?.stop()
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
  })

  it("signs in with the API key using only the keyboard, into an HttpOnly SameSite=Strict cookie", async () => {
    await page.goto(`${engine.url}/`)
    await page.getByTestId("api-key").waitFor()
    await screenshot(page, "console-sign-in")
    // Tab from the top of the page to the key field: the skip link, then the tabs, then the field.
    for (let i = 0; i < 10; i++) {
      if (await page.getByTestId("api-key").evaluate((el) => el === document.activeElement)) break
      await page.keyboard.press("Tab")
    }
    expect(await page.getByTestId("api-key").evaluate((el) => el === document.activeElement)).toBe(true)
    await page.keyboard.type(seed.apiKey)
    await page.keyboard.press("Enter")
    await rows().first().waitFor()
    const cookie = (await context.cookies()).find((c) => c.name === "candor_session")
    expect(cookie).toBeDefined()
    expect(cookie!.httpOnly).toBe(true)
    expect(cookie!.sameSite).toBe("Strict")
    // The key went in a POST body, never a URL.
    expect(page.url()).not.toContain(seed.apiKey)
    expect(await page.getByTestId("api-key").inputValue()).toBe("")
  })

  it("lists interviews as rows with their ids and report links", async () => {
    const row = page.locator(`[data-testid=interview-row][data-id="${seed.interviewId}"]`)
    await row.waitFor()
    expect(await row.getByTestId("open-report").getAttribute("href")).toBe(
      `/v1/interviews/${seed.interviewId}/report.html`
    )
    await screenshot(page, "console-list")
  })

  it("creates an interview with a rubric and shows its join link", async () => {
    const before = await rows().count()
    await page.getByTestId("candidate-name").fill("Grace Example")
    await page.getByTestId("candidate-email").fill("grace@example.com")
    await page.getByLabel("Prompt").first().fill("How would you shard a user table?")
    await page.getByLabel("Expected points (one per line, optional)").first().fill("shard key\nrebalancing")
    await page.getByRole("button", { name: "Add a criterion" }).first().click()
    await page.getByLabel("Criterion", { exact: true }).first().fill("Data modelling")
    await page.getByLabel("Weight").first().fill("2")
    await page.getByTestId("create-submit").click()
    const join = page.getByTestId("join-url")
    await join.waitFor()
    const url = await join.inputValue()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/join\/[^#]+#token=.+/)
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=interview-row]").length > n, before)
    const id = /\/join\/([^#]+)#/.exec(url)![1]!
    const created = (await (await call(`/v1/interviews/${id}`)).json()) as any
    expect(created.candidate).toEqual({ name: "Grace Example", email: "grace@example.com" })
    expect(created.questions[0].rubric.criteria).toEqual([{ id: "data-modelling", name: "Data modelling", weight: 2 }])
    expect(created.questions[0].expectedPoints).toEqual(["shard key", "rebalancing"])
    await screenshot(page, "console-create")
  })

  it("shows a live view whose events grow while a candidate streams frames and answers", async () => {
    const photos = await faceFrames()
    const row = page.locator(`[data-testid=interview-row][data-id="${seed.interviewId}"]`)
    await row.getByTestId("open-live").click()
    await page.locator("#live-connection", { hasText: "connected" }).waitFor()
    const events = page.getByTestId("live-events").locator("li")
    const count = () => events.count()

    const candidate = await Client.candidate(engine.wsUrl, seed.interviewId, seed.candidateToken)
    await candidate.next("session", 0)
    candidate.send({ _tag: "start" })
    const q1 = await candidate.next("question", 0)
    let seq = 0
    const stream = async (frames: number) => {
      for (let i = 0; i < frames; i++, seq++) {
        candidate.sendFrame(seq, photos[seq % photos.length]!)
        await sleep(125)
      }
      await candidate.until((c) => c.of("analysis").length + c.of("error").length >= seq, `replies to ${seq} frames`)
    }
    await stream(16)
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=live-events] li").length >= 2)
    const early = await count()
    candidate.send({ _tag: "answer", questionId: q1.questionId, text: goodAnswers[0] })
    await candidate.next("answerSaved", 0)
    candidate.send({ _tag: "next", fromQuestionId: q1.questionId })
    const q2 = await candidate.next("question", 1)
    await stream(8)
    candidate.send({ _tag: "answer", questionId: q2.questionId, text: goodAnswers[1] })
    await candidate.next("answerSaved", 1)
    await page.getByTestId("live-events").locator("li[data-tag=answerRecorded]").nth(1).waitFor()
    expect(await count()).toBeGreaterThan(early)
    await page.locator("#live-face").filter({ hasText: "%" }).waitFor()
    await page.locator("#live-question").filter({ hasText: "Question 2" }).waitFor()
    candidate.send({ _tag: "finish" })
    await candidate.next("finished", 0)
    await page.getByTestId("live-events").locator("li[data-tag=interviewFinished]").waitFor()
    await page.locator("#live-answers li", { hasText: "queue" }).first().waitFor()
    await screenshot(page, "console-live")
    candidate.close()
  })

  it("opens a report with scores, charts and heat-maps that render", async () => {
    // The report is complete once every answer is scored (offline heuristic: moments).
    for (let i = 0; i < 300; i++) {
      const report = (await (await call(`/v1/interviews/${seed.interviewId}/report`)).json()) as any
      if (report.complete && report.keyframes.some((k: any) => k.kind === "heatmap")) break
      await sleep(100)
    }
    await page.locator("#live").getByTestId("open-report").click()
    const report = page.getByTestId("report")
    await report.waitFor()
    expect(await page.getByTestId("overall-score").textContent()).toMatch(/\d+\.\d \/ 100/)
    expect(await page.getByTestId("question-score").count()).toBe(2)
    expect(await page.locator("blockquote").count()).toBeGreaterThan(0)
    expect(await page.getByTestId("timeline").count()).toBe(1)
    expect(await page.locator(".chart").count()).toBeGreaterThanOrEqual(4)
    expect(await page.locator("ul.bars svg.bar").count()).toBeGreaterThan(0)
    expect(await page.getByTestId("signals-used").textContent()).toContain("answers")
    const heatmap = page.getByTestId("heatmap").first()
    expect(await heatmap.getAttribute("alt")).toMatch(/Heat-map/)
    await heatmap.scrollIntoViewIfNeeded()
    await page.waitForFunction(() => {
      const img = document.querySelector("[data-testid=heatmap]")
      return img?.complete === true && img.naturalWidth > 0
    })
    await page.evaluate(() => window.scrollTo(0, 0))
    await screenshot(page, "console-report")
  })

  it("adds a decision through the report's form and shows it in the report", async () => {
    await page.locator("#review-fields:not([disabled])").waitFor()
    await page.getByLabel("Reviewer (your name or email)").fill("Rita Recruiter")
    await page.getByTestId("decision").selectOption("advance")
    await page.getByLabel("Note").fill("Clear on trade-offs.")
    await page.getByTestId("submit-review").click()
    await page.getByTestId("latest-decision").filter({ hasText: "advance" }).waitFor()
    expect(await page.getByTestId("reviews").textContent()).toContain("Clear on trade-offs.")
    const list = (await (await call(`/v1/interviews/${seed.interviewId}/reviews`)).json()) as any
    expect(list.items.map((r: any) => r.decision)).toEqual(["advance"])
  })

  it("refuses a POST with the cookie but without x-csrf-token (403)", async () => {
    const status = await page.evaluate(
      (id) =>
        fetch(`/v1/interviews/${id}/reviews`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ reviewer: "Mallory", decision: "reject" })
        }).then((r) => r.status),
      seed.interviewId
    )
    expect(status).toBe(403)
  })

  it("has no horizontal scroll at 320 px, on the console and on the report", async () => {
    await page.setViewportSize({ width: 320, height: 800 })
    for (const [path, ready, name] of [
      ["/", "interview-row", "console-320px"],
      [`/v1/interviews/${seed.interviewId}/report.html`, "report", "console-report-320px"]
    ] as const) {
      await page.goto(`${engine.url}${path}`)
      await page.getByTestId(ready).first().waitFor()
      expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(320)
      await screenshot(page, name)
    }
    await page.setViewportSize({ width: 1280, height: 900 })
  })

  it("signs out (then /v1/me is 401) and signs in again with an email and password", async () => {
    await page.goto(`${engine.url}/`)
    await page.getByTestId("sign-out").click()
    await page.getByTestId("api-key").waitFor()
    expect(await page.evaluate(() => fetch("/v1/me").then((r) => r.status))).toBe(401)

    const invited = (await (
      await call("/v1/users/invite", {
        method: "POST",
        body: JSON.stringify({ email: "rita@example.com", role: "recruiter" })
      })
    ).json()) as { token: string }
    const password = "correct horse battery staple"
    const set = await fetch(`${engine.url}/v1/users/password`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: invited.token, password })
    })
    expect(set.status).toBe(204)
    await page.getByRole("tab", { name: "Email and password" }).click()
    await page.getByLabel("Email", { exact: true }).fill("rita@example.com")
    await page.getByLabel("Password", { exact: true }).fill(password)
    await page.getByTestId("sign-in-account").click()
    await rows().first().waitFor()
    expect(await page.locator("#who-text").textContent()).toContain("recruiter")
  })

  it("made no request off the engine's origin and logged no errors but expected refusals", () => {
    expect(watched.foreign).toEqual([])
    expect(watched.problems.filter((p) => !/status of (401|403)/.test(p))).toEqual([])
  })
})
