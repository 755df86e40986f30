/**
 * The candidate page in a real Chromium against a real engine: the notice before anything else, consent recorded
 * through the API, a fake camera showing one face, the pre-check on the server's own analyses, questions answered
 * over the socket, a dropped network that resumes, bad links, keyboard only and a 320 px wide screen.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { singleFaceJpeg } from "../inference/fixtures.ts"
import { browserAvailable, launchBrowser, screenshot, watchPage, writeFakeCamera } from "../support/Browser.ts"
import {
  answer,
  begin,
  call,
  consentAndStart,
  createInterview,
  type Engine,
  expectQuestion,
  passPrecheck,
  startCandor
} from "./candidateFlow.ts"

interface Consent {
  readonly kind: string
  readonly granted: boolean
  readonly noticeVersion: string
}

describe.skipIf(!browserAvailable())("candidate page", () => {
  let candor: Engine
  let browser: Browser
  let dir: string
  const contexts: Array<BrowserContext> = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "candor-camera-"))
    const camera = await writeFakeCamera(await singleFaceJpeg(), join(dir, "face.y4m"))
    ;[candor, browser] = await Promise.all([startCandor(), launchBrowser(camera)])
  })

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {})
    await browser?.close()
    await candor?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  const newPage = async (viewport = { width: 1000, height: 800 }): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport })
    contexts.push(context)
    return { context, page: await context.newPage() }
  }

  /** Every text message the page's sockets received, parsed, and every frame seq the page sent. */
  const tapSockets = (page: Page) => {
    const received: Array<any> = []
    const seqs: Array<number> = []
    page.on("websocket", (ws) => {
      ws.on("framereceived", (f) => {
        if (typeof f.payload === "string") received.push(JSON.parse(f.payload))
      })
      ws.on("framesent", (f) => {
        if (typeof f.payload !== "string") seqs.push(f.payload.readUInt32BE(2))
      })
    })
    return { received, seqs }
  }

  it("takes a candidate from the notice through two typed answers to done, consent and answers stored", async () => {
    const interview = await createInterview(candor)
    const { page } = await newPage()
    const watch = watchPage(page, candor.engine.url)
    await page.goto(interview.joinUrl)
    // The notice comes first and names the signals, the retention and the person deciding.
    const notice = page.locator("#notice-view")
    await notice.waitFor({ state: "visible" })
    const text = (await notice.textContent()) ?? ""
    expect(text).toContain("Face presence")
    expect(text).toMatch(/emotions/i)
    expect(text).toMatch(/blink/i)
    expect(text).toMatch(/kept for \d+ days/)
    expect(text).toContain("A person reviews your interview")
    expect(page.url()).not.toContain("token=")
    expect(await page.getByTestId("start").isDisabled()).toBe(true)
    await screenshot(page, "candidate-notice")

    await consentAndStart(page)
    await passPrecheck(page)
    await screenshot(page, "candidate-precheck")
    await page.getByTestId("begin").click()
    await expectQuestion(page, 1, 2)
    expect(await page.getByTestId("question").textContent()).toContain("a project you are proud of")
    // Audio answers are off for this interview: no control for them.
    expect(await page.getByTestId("record-answer").count()).toBe(0)
    expect(await page.getByTestId("finish").isVisible()).toBe(false)
    await answer(page, "I built a real-time analysis pipeline with back-pressure and measured every stage.")
    await screenshot(page, "candidate-question")
    await page.getByTestId("next").click()
    await expectQuestion(page, 2, 2)
    expect(await page.getByTestId("answer").inputValue()).toBe("")
    await answer(page, "I say so early, agree on what to cut, and keep the people affected informed.")
    await page.getByTestId("finish").click()
    await page.getByTestId("done").waitFor({ state: "visible", timeout: 20_000 })
    expect(await page.getByTestId("done").textContent()).toContain("A person will review")
    await screenshot(page, "candidate-done")

    const report = await call(candor, "GET", `/v1/interviews/${interview.id}/report`)
    expect(report.status).toBe(200)
    expect(report.body.status).toBe("finished")
    expect(report.body.questions.map((q: { answer: { text: string } | null }) => q.answer?.text)).toEqual([
      "I built a real-time analysis pipeline with back-pressure and measured every stage.",
      "I say so early, agree on what to cut, and keep the people affected informed."
    ])
    const consents = await call<{ items: Array<Consent> }>(candor, "GET", `/v1/interviews/${interview.id}/consents`)
    expect(consents.body.items.map((c) => [c.kind, c.granted]).sort()).toEqual([
      ["affect_analysis", true],
      ["data_processing", true],
      ["recording", true]
    ])
    expect(watch.problems).toEqual([])
    expect(watch.foreign).toEqual([])

    // The same link again: the interview is over, and the page says so without a camera.
    const again = await browser.newContext()
    contexts.push(again)
    const second = await again.newPage()
    await second.goto(interview.joinUrl)
    await expect.poll(() => second.locator("#error-view").textContent()).toContain("already finished")
    expect(await second.getByTestId("preview").isVisible()).toBe(false)
  })

  it("lets the candidate decline affect analysis and still take the interview", async () => {
    const interview = await createInterview(candor)
    const { page } = await newPage()
    const watch = watchPage(page, candor.engine.url)
    const tap = tapSockets(page)
    await page.goto(interview.joinUrl)
    await consentAndStart(page, { declineAffect: true })
    await begin(page)
    await expectQuestion(page, 1, 2)
    const session = tap.received.find((m) => m._tag === "session")
    expect(session?.affectSignals).toBe(false)
    const analyses = tap.received.filter((m) => m._tag === "analysis") as Array<{ faces: Array<{ emotion: unknown }> }>
    expect(analyses.length).toBeGreaterThan(0)
    expect(analyses.flatMap((a) => a.faces).every((f) => f.emotion === null)).toBe(true)
    await answer(page, "A short answer, with emotions declined.")
    await page.getByTestId("next").click()
    await expectQuestion(page, 2, 2)
    await page.getByTestId("finish").click()
    await page.getByTestId("done").waitFor({ state: "visible", timeout: 20_000 })

    const report = await call(candor, "GET", `/v1/interviews/${interview.id}/report`)
    expect(report.body.affectNotUsed).toBe("candidate_declined")
    expect(report.body.signalsUsed).not.toContain("emotion")
    const consents = await call<{ items: Array<Consent> }>(candor, "GET", `/v1/interviews/${interview.id}/consents`)
    expect(consents.body.items.find((c) => c.kind === "affect_analysis")?.granted).toBe(false)
    expect(consents.body.items.find((c) => c.kind === "data_processing")?.granted).toBe(true)
    expect(watch.problems).toEqual([])
  })

  it("shows a clear page, and no camera, for a wrong token, another interview's token and an unknown interview", async () => {
    const interview = await createInterview(candor)
    const other = await createInterview(candor)
    const { page } = await newPage()
    const cases = [
      [`${candor.engine.url}/join/${interview.id}#token=not-a-token`, "expired"],
      // Only the fragment differs: the page loads again for the new link.
      [`${candor.engine.url}/join/${interview.id}#token=${other.candidateToken}`, "not for this interview"]
    ] as const
    const expectError = async (on: Page, says: string) => {
      await expect.poll(() => on.locator("#error-view").textContent()).toContain(says)
      expect(await on.getByTestId("consent").isVisible()).toBe(false)
      expect(await on.getByTestId("preview").isVisible()).toBe(false)
    }
    for (const [url, says] of cases) {
      await page.goto(url)
      await expectError(page, says)
    }
    const fresh = (await newPage()).page
    await fresh.goto(`${candor.engine.url}/join/${interview.id}`)
    await expectError(fresh, "incomplete")
    // Erased: the token is still valid, the interview is gone.
    expect((await call(candor, "DELETE", `/v1/interviews/${other.id}`)).status).toBe(204)
    await page.goto(other.joinUrl)
    await expect.poll(() => page.locator("#error-view").textContent()).toMatch(/This interview was removed/)
    expect(await page.getByTestId("status").textContent()).not.toBe("")
    await screenshot(page, "candidate-error")
  })

  it("reconnects after the network drops and goes on with the interview where it was", async () => {
    const interview = await createInterview(candor)
    const { context, page } = await newPage()
    const watch = watchPage(page, candor.engine.url)
    const tap = tapSockets(page)
    // Keeps the page's sockets reachable, so the test can cut them as a dropped network does.
    await page.addInitScript(() => {
      const g = globalThis as any
      const Native = g.WebSocket
      const sockets: Array<unknown> = []
      g.__sockets = sockets
      g.WebSocket = class extends Native {
        constructor(url: string, protocols?: string | Array<string>) {
          super(url, protocols)
          sockets.push(this)
        }
      }
    })
    await page.goto(interview.joinUrl)
    await consentAndStart(page)
    await begin(page)
    await expectQuestion(page, 1, 2)
    await answer(page, "Answered before the network dropped.")
    const sockets = () => tap.received.filter((m) => m._tag === "session").length
    expect(sockets()).toBe(1)
    // The open socket is cut, and the network stays down for a while: Chromium's offline mode fails new connections.
    await page.evaluate(() => {
      for (const s of (globalThis as any).__sockets as Array<WebSocket>) s.close()
    })
    await context.setOffline(true)
    await expect.poll(() => page.getByTestId("status").textContent(), { timeout: 10_000 }).toMatch(/Reconnecting/)
    // Offline for a while: the page keeps trying, with backoff.
    await new Promise((r) => setTimeout(r, 2_500))
    expect(sockets()).toBe(1)
    await context.setOffline(false)
    await expect.poll(sockets, { timeout: 15_000 }).toBe(2)
    const resumed = tap.received.filter((m) => m._tag === "session")[1]!
    expect(resumed.resumed).toBe(true)
    await expectQuestion(page, 1, 2)
    // Frames went on after the resumed session's lastSeq, never repeating a seq.
    const after = tap.seqs.length
    await expect.poll(() => tap.seqs.length, { timeout: 10_000 }).toBeGreaterThan(after)
    expect(tap.seqs.slice(after).every((s) => s > (resumed.lastSeq as number))).toBe(true)
    expect(new Set(tap.seqs).size).toBe(tap.seqs.length)
    await page.getByTestId("next").click()
    await expectQuestion(page, 2, 2)
    await answer(page, "Answered after the reconnect.")
    await page.getByTestId("finish").click()
    await page.getByTestId("done").waitFor({ state: "visible", timeout: 20_000 })
    const report = await call(candor, "GET", `/v1/interviews/${interview.id}/report`)
    expect(report.body.questions.map((q: { answer: { text: string } | null }) => q.answer?.text)).toEqual([
      "Answered before the network dropped.",
      "Answered after the reconnect."
    ])
    expect(watch.problems.filter((p) => !/ERR_INTERNET_DISCONNECTED|WebSocket/.test(p))).toEqual([])
  })

  it("works with the keyboard only: Tab, Space and Enter get through consent and start", async () => {
    const interview = await createInterview(candor)
    const { page } = await newPage()
    await page.goto(interview.joinUrl)
    await page.getByTestId("consent").waitFor({ state: "visible" })
    const focused = () => page.evaluate<string>('document.activeElement?.getAttribute("data-testid") ?? ""')
    const tabTo = async (testid: string) => {
      for (let i = 0; i < 20 && (await focused()) !== testid; i++) await page.keyboard.press("Tab")
      expect(await focused()).toBe(testid)
    }
    await tabTo("consent")
    await page.keyboard.press("Space")
    expect(await page.getByTestId("consent").isChecked()).toBe(true)
    await tabTo("start")
    await page.keyboard.press("Enter")
    await page.getByTestId("preview").waitFor({ state: "visible" })
    await passPrecheck(page)
    await tabTo("begin")
    await page.keyboard.press("Enter")
    await expectQuestion(page, 1, 2)
    await tabTo("answer")
    await page.keyboard.type("Typed with the keyboard only.")
    await tabTo("submit-answer")
    await page.keyboard.press("Enter")
    await expect.poll(() => page.getByTestId("submit-answer").isDisabled(), { timeout: 20_000 }).toBe(true)
    // Every control on the page has a name.
    const unlabelled = await page.evaluate<Array<string>>(`
      [...document.querySelectorAll("input, textarea, button, video")]
        .filter((el) => el.labels?.length === 0 || el.labels === undefined)
        .filter((el) => !el.getAttribute("aria-label") && (el.textContent ?? "").trim() === "")
        .map((el) => el.outerHTML)
    `)
    expect(unlabelled).toEqual([])
  })

  it("is readable at 320 px wide without horizontal scrolling", async () => {
    const interview = await createInterview(candor)
    const { page } = await newPage({ width: 320, height: 640 })
    await page.goto(interview.joinUrl)
    await page.getByTestId("consent").waitFor({ state: "visible" })
    const width = () => page.evaluate<number>("document.documentElement.scrollWidth")
    expect(await width()).toBeLessThanOrEqual(320)
    await consentAndStart(page)
    await begin(page)
    await expectQuestion(page, 1, 2)
    expect(await width()).toBeLessThanOrEqual(320)
    await screenshot(page, "candidate-320px")
  })
})
