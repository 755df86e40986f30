/**
 * An upload survives a restart of the engine: its parts wait in the media store and its offset in the database, so
 * after the restart the candidate page asks where it stands and finishes it (embedded database on disk).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { recordConsent } from "../support/Consent.ts"
import { startReportsServer } from "../support/ReportsServer.ts"
import type { TestServer } from "../support/TestServer.ts"
import { makeWebm } from "./support.ts"

describe("a recording upload across a restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "candor-rec-restart-"))
  const env = { CANDOR_DATA_DIR: dir, CANDOR_DEMO: "false" }
  let server: TestServer | undefined

  afterAll(async () => {
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it("resumes at the offset it had before the restart and completes", async () => {
    const webm = makeWebm({ seconds: 1 })
    server = await startReportsServer(env)
    const { apiKey } = await server.seed()
    const recruiter = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" }
    const created = (await (
      await fetch(`${server.url}/v1/interviews`, {
        method: "POST",
        headers: recruiter,
        body: JSON.stringify({
          candidate: { name: "Restart Example" },
          mode: "recorded",
          questions: [{ prompt: "Hi?" }]
        })
      })
    ).json()) as { id: string; candidateToken: string }
    const interview = { interviewId: created.id, candidateToken: created.candidateToken }
    for (const kind of ["data_processing", "recording"] as const)
      expect((await recordConsent(server.url, interview, kind)).status).toBe(201)
    const candidate = { authorization: `Bearer ${created.candidateToken}` }
    const questionId = (
      (await (await fetch(`${server.url}/v1/interviews/${created.id}`, { headers: recruiter })).json()) as any
    ).questions[0].id as string
    const base = `/v1/interviews/${created.id}/recordings`
    const put = (url: string, offset: number, part: Uint8Array) =>
      fetch(url, {
        method: "PUT",
        headers: { ...candidate, "content-type": "application/octet-stream", "upload-offset": String(offset) },
        body: part
      })

    const { uploadId } = (await (
      await fetch(`${server.url}${base}?questionId=${questionId}`, { method: "POST", headers: candidate })
    ).json()) as { uploadId: string }
    const half = Math.floor(webm.byteLength / 2)
    expect((await put(`${server.url}${base}/${uploadId}`, 0, webm.subarray(0, half))).status).toBe(200)

    await server.close()
    server = await startReportsServer(env)

    const where = (await (await fetch(`${server.url}${base}/${uploadId}`, { headers: candidate })).json()) as any
    expect(where).toMatchObject({ offset: half, status: "uploading" })
    expect((await put(`${server.url}${base}/${uploadId}`, where.offset, webm.subarray(where.offset))).status).toBe(200)
    const done = await fetch(`${server.url}${base}/${uploadId}/complete`, { method: "POST", headers: candidate })
    expect(done.status).toBe(200)
    // No transcription here: the recording is kept and the answer is to be typed.
    expect(((await done.json()) as any).transcription.status).toBe("not_configured")
    const media = await fetch(`${server.url}/v1/interviews/${created.id}/media/recordings/${questionId}.webm`, {
      headers: recruiter
    })
    expect(media.status).toBe(200)
    expect((await media.arrayBuffer()).byteLength).toBeGreaterThan(webm.byteLength / 2)
  })
})
