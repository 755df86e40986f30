/**
 * Steps of the candidate page for browser tests: an engine with a seeded tenant, interviews created through the API,
 * and the page driven through its data-testid hooks only.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Browser, Page } from "playwright-core"
import { expect } from "vitest"
import { type FakeOpenAi, startFakeOpenAi } from "../answers/FakeOpenAiServer.ts"
import { singleFaceJpeg } from "../inference/fixtures.ts"
import { launchBrowser, writeFakeCamera } from "../support/Browser.ts"
import { type EngineProcess, freePort, seedEngine, startEngineProcess } from "../support/EngineProcess.ts"

export interface Engine {
  readonly engine: EngineProcess
  readonly apiKey: string
  readonly close: () => Promise<void>
}

export interface CreatedInterview {
  readonly id: string
  readonly candidateToken: string
  readonly joinUrl: string
}

/**
 * A real engine (embedded defaults, one inference worker) with a seeded tenant whose API key the tests use; `extra`
 * adds to its environment (e.g. an OpenAI-compatible server for transcription).
 */
export const startCandor = async (extra: Record<string, string> = {}): Promise<Engine> => {
  const dataDir = mkdtempSync(join(tmpdir(), "candor-browser-"))
  const port = await freePort()
  const env = { CANDOR_DATA_DIR: dataDir, CANDOR_DEMO: "false", INFERENCE_WORKERS: "1", ...extra }
  const engine = await startEngineProcess(env, port)
  const { apiKey } = await seedEngine(env)
  return {
    engine,
    apiKey,
    close: async () => {
      await engine.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/** GET/POST/DELETE on the recruiter API with the tenant's key; the JSON body (or null) and the status. */
export const call = async <A = any>(
  e: Engine,
  method: string,
  path: string,
  body?: unknown
): Promise<{ status: number; body: A }> => {
  const res = await fetch(`${e.engine.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${e.apiKey}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, body: (text === "" ? null : JSON.parse(text)) as A }
}

/** A two-question interview; its join link is the create response's `joinUrl`, on the engine's own address. */
export const createInterview = async (
  e: Engine,
  options: { readonly mode?: "live" | "recorded" } = {}
): Promise<CreatedInterview> => {
  const created = await call<{ id: string; candidateToken: string; joinUrl?: string }>(e, "POST", "/v1/interviews", {
    candidate: { name: "Grace Browser" },
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    questions: [
      { prompt: "Tell us about a project you are proud of." },
      { prompt: "How do you handle a deadline you cannot meet?" }
    ]
  })
  expect(created.status).toBe(201)
  const { id, candidateToken } = created.body
  const path = `/join/${id}#token=${candidateToken}`
  expect(created.body.joinUrl ?? "").toContain(path)
  return { id, candidateToken, joinUrl: `${e.engine.url}${path}` }
}

/** The notice is shown, nothing else: ticks consent (and decline-affect when asked), presses start. */
export const consentAndStart = async (page: Page, options: { declineAffect?: boolean } = {}): Promise<void> => {
  await page.getByTestId("consent").waitFor({ state: "visible" })
  await expect.poll(() => page.getByTestId("preview").isVisible()).toBe(false)
  await page.getByTestId("consent").check()
  if (options.declineAffect === true) await page.getByTestId("decline-affect").check()
  await page.getByTestId("start").click()
  await page.getByTestId("preview").waitFor({ state: "visible" })
}

/** Waits for the pre-check to pass on the server's analyses, then begins the interview. */
export const passPrecheck = async (page: Page): Promise<void> => {
  await expect.poll(() => page.locator("#precheck li[data-state=ok]").count(), { timeout: 30_000 }).toBe(3)
  await expect.poll(() => page.getByTestId("begin").isEnabled()).toBe(true)
  expect(await page.getByTestId("begin").textContent()).toBe("Begin the interview")
}

export const begin = async (page: Page): Promise<void> => {
  await passPrecheck(page)
  await page.getByTestId("begin").click()
}

/** Waits until question `i` of `n` is shown. */
export const expectQuestion = async (page: Page, i: number, n: number): Promise<void> => {
  await expect
    .poll(() => page.getByTestId("question").textContent(), { timeout: 20_000 })
    .toContain(`Question ${i} of ${n}`)
}

/** Types an answer, submits it and waits until it is saved. */
export const answer = async (page: Page, text: string): Promise<void> => {
  await page.getByTestId("answer").fill(text)
  await page.getByTestId("submit-answer").click()
  await expect.poll(() => page.getByTestId("submit-answer").isDisabled(), { timeout: 20_000 }).toBe(true)
}

export interface SpeakingSetup {
  readonly candor: Engine
  readonly browser: Browser
  readonly fake: FakeOpenAi
  readonly close: () => Promise<void>
}

/**
 * An engine whose transcription goes to a local OpenAI-compatible server (answering `transcript` for every
 * recording), and Chromium with a fake camera (a face photo) and its fake microphone (a beep).
 */
export const startSpeaking = async (transcript: string): Promise<SpeakingSetup> => {
  const dir = mkdtempSync(join(tmpdir(), "candor-speaking-"))
  const camera = await writeFakeCamera(await singleFaceJpeg(), join(dir, "face.y4m"))
  const fake = await startFakeOpenAi({ transcript })
  const [candor, browser] = await Promise.all([
    startCandor({ OPENAI_API_KEYS: "sk-browser-1234", OPENAI_BASE_URL: fake.url, ANSWER_SAMPLES: "1" }),
    launchBrowser(camera)
  ])
  return {
    candor,
    browser,
    fake,
    close: async () => {
      await browser.close()
      await candor.close()
      await fake.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
