/**
 * Chromium for browser tests: Debian's `chromium` (or CHROMIUM_PATH) driven by playwright-core through
 * `executablePath`, so nothing is downloaded. Where no Chromium is found the browser tests are skipped, and say so
 * loudly; under CI (`CI=true`) a missing browser fails instead, since `.ci/run` installs it.
 *
 * The camera is fake: a `.y4m` video the test writes from a face photo, looped by Chromium
 * (`--use-file-for-fake-video-capture`), and a fake microphone. Screenshots go under `.tmp/screenshots/`.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import sharp from "sharp"

const root = fileURLToPath(new URL("../../", import.meta.url))

/** Where screenshots of every page are saved (kept by CI). */
export const screenshotDir = join(root, ".tmp", "screenshots")

/** The Chromium to drive: CHROMIUM_PATH, else Debian's package; undefined when there is none. */
export const chromiumPath = (): string | undefined =>
  [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
    (p): p is string => p !== undefined && p.length > 0 && existsSync(p)
  )

/** Whether browser tests can run here; when not (outside CI), a loud line says they are skipped. */
export const browserAvailable = (): boolean => {
  const found = chromiumPath()
  if (found !== undefined) return true
  if (process.env.CI === "true") throw new Error("CI=true but no Chromium found: .ci/run installs Debian's chromium")
  console.warn(
    "\n*** BROWSER TESTS SKIPPED: no Chromium found (install Debian's `chromium` or set CHROMIUM_PATH) ***\n"
  )
  return false
}

/**
 * Writes a `.y4m` video (4:2:0, `frames` frames at `fps`) from a JPEG: the picture moves a little from frame to
 * frame, as a person in front of a webcam does. Returns its path.
 */
export const writeFakeCamera = async (
  jpeg: Buffer,
  path: string,
  options: { width?: number; height?: number; frames?: number; fps?: number } = {}
): Promise<string> => {
  const width = options.width ?? 640
  const height = options.height ?? 480
  const frames = options.frames ?? 10
  const fps = options.fps ?? 10
  const margin = 8
  const { data } = await sharp(jpeg)
    .resize(width + 2 * margin, height + 2 * margin, { fit: "cover" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  const stride = (width + 2 * margin) * 3
  const chunks: Array<Buffer> = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`)]
  for (let f = 0; f < frames; f++) {
    const dx = margin + Math.round(Math.sin((f / frames) * 2 * Math.PI) * (margin - 1))
    const dy = margin
    const y = Buffer.alloc(width * height)
    const u = Buffer.alloc((width / 2) * (height / 2))
    const v = Buffer.alloc((width / 2) * (height / 2))
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        const i = (row + dy) * stride + (col + dx) * 3
        const r = data[i]!
        const g = data[i + 1]!
        const b = data[i + 2]!
        y[row * width + col] = Math.round(0.299 * r + 0.587 * g + 0.114 * b)
        if (row % 2 === 0 && col % 2 === 0) {
          const c = (row / 2) * (width / 2) + col / 2
          u[c] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)))
          v[c] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)))
        }
      }
    }
    chunks.push(Buffer.from("FRAME\n"), y, u, v)
  }
  writeFileSync(path, Buffer.concat(chunks))
  return path
}

/** Starts headless Chromium with a fake camera (the given `.y4m`) and microphone, nothing from the network. */
export const launchBrowser = (camera?: string): Promise<Browser> => {
  const executablePath = chromiumPath()
  if (executablePath === undefined)
    throw new Error("no Chromium found (install Debian's chromium or set CHROMIUM_PATH)")
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      ...(camera === undefined ? [] : [`--use-file-for-fake-video-capture=${camera}`])
    ]
  })
}

/**
 * Collects what a page did that a test should see: console errors, failed requests, and every request that left
 * the page's own origin (the pages must make none).
 */
export const watchPage = (page: Page, origin: string) => {
  const problems: Array<string> = []
  const foreign: Array<string> = []
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`)
  })
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
  page.on("request", (r) => {
    const url = r.url()
    if (!url.startsWith(origin) && !url.startsWith(origin.replace(/^http/, "ws")) && !/^(data|blob):/.test(url))
      foreign.push(url)
  })
  return { problems, foreign }
}

/** Saves a full-page screenshot as `.tmp/screenshots/<name>.png` and returns its path. */
export const screenshot = async (page: Page, name: string): Promise<string> => {
  mkdirSync(screenshotDir, { recursive: true })
  const path = join(screenshotDir, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}
