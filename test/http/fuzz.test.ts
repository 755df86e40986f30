import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Net from "node:net"
import { backends } from "../support/Backends.ts"
import { startServer, type TestServer } from "../support/TestServer.ts"

/** Deterministic generator so a failure reproduces. */
const rng = (seed: number) => () => {
  seed = (seed * 1664525 + 1013904223) >>> 0
  return seed / 2 ** 32
}

const validBody = {
  candidate: { name: "Fuzz", email: "f@example.com" },
  questions: [{ prompt: "Q?", rubric: { criteria: [{ id: "a", name: "A", weight: 1 }] }, expectedPoints: ["p"] }]
}

/** Mutates a valid body into an invalid one: wrong types, missing fields, unknown fields, bad sizes. */
const mutate = (random: () => number): unknown => {
  const pick = <A>(xs: ReadonlyArray<A>) => xs[Math.floor(random() * xs.length)]!
  const junk = () =>
    pick<unknown>([null, 0, -1, 1.5, "", " ", "x".repeat(5000), [], {}, true, { nested: [1, { a: null }] }, "\u0000"])
  const body = structuredClone(validBody) as any
  switch (Math.floor(random() * 12)) {
    case 0:
      return junk()
    case 1:
      body.candidate = junk()
      return body
    case 2:
      body.candidate.name = junk()
      return body
    case 3:
      body.candidate.email = pick(["no-at", "a@b", 5, "x".repeat(400) + "@e.com"])
      return body
    case 4:
      body.questions = pick<unknown>([[], null, "q", Array.from({ length: 51 }, () => ({ prompt: "p" }))])
      return body
    case 5:
      body.questions[0].prompt = junk()
      return body
    case 6:
      body.questions[0].rubric = pick<unknown>([
        { criteria: [] },
        { criteria: null },
        junk(),
        { criteria: [{ id: "A B" }] }
      ])
      return body
    case 7:
      body.questions[0].rubric.criteria[0].weight = pick<unknown>([0, -3, 101, "1", null])
      return body
    case 8:
      body.questions[0].expectedPoints = pick<unknown>([[""], "p", [1], Array.from({ length: 60 }, () => "p")])
      return body
    case 9:
      body[pick(["admin", "tenantId", "__proto__x", "id"])] = junk()
      return body
    case 10:
      body.candidate[pick(["role", "tenant", "ssn"])] = junk()
      return body
    default:
      body.questions[0].rubric.criteria.push({ ...body.questions[0].rubric.criteria[0] })
      return body
  }
}

const rawBodies = (random: () => number): string => {
  const options = [
    "{",
    "[1,2",
    '{"candidate":',
    "null",
    "nul",
    "\u00ff\u00fe",
    "{}".repeat(100),
    '{"a":1}garbage',
    "\ud800",
    " ",
    JSON.stringify(validBody).slice(0, Math.floor(random() * 80))
  ]
  return options[Math.floor(random() * options.length)]!
}

/** Sends raw HTTP over TCP and returns the status code, or undefined if the server closed without answering. */
const rawRequest = (port: number, payload: string, waitMs = 3000): Promise<number | undefined> =>
  new Promise((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    let data = ""
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(undefined)
    }, waitMs)
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1")
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data)
      if (m) {
        clearTimeout(timer)
        socket.destroy()
        resolve(Number(m[1]))
      }
    })
    socket.on("error", () => {})
    socket.on("close", () => {
      clearTimeout(timer)
      resolve(/^HTTP\/1\.1 (\d{3})/.exec(data) ? Number(/^HTTP\/1\.1 (\d{3})/.exec(data)![1]) : undefined)
    })
    socket.write(payload)
  })

for (const backend of backends())
  describe(`HTTP API under generated bad input on ${backend.name}`, () => {
    let server: TestServer
    let key: string
    let port: number
    const count = async () => {
      const r = await fetch(`${server.url}/v1/interviews?limit=200`, { headers: { authorization: `Bearer ${key}` } })
      return ((await r.json()) as { items: Array<unknown> }).items.length
    }

    beforeAll(async () => {
      server = await startServer({
        ...(await backend.env()),
        TOKEN_SECRET: "y".repeat(40),
        MAX_BODY_BYTES: "65536",
        REQUEST_TIMEOUT_SECONDS: "1"
      })
      key = (await server.seed()).apiKey
      port = Number(new URL(server.url).port)
    })
    afterAll(async () => {
      await server?.close()
      await backend.cleanup()
    })

    it("answers 3,000 generated bad bodies and headers with a 4xx and writes nothing", async () => {
      const random = rng(42)
      const before = await count()
      const statuses = new Map<number, number>()
      const total = 3000
      for (let batch = 0; batch < total / 50; batch++) {
        const results = await Promise.all(
          Array.from({ length: 50 }, async () => {
            const r = random()
            const headers: Record<string, string> = {
              authorization: `Bearer ${key}`,
              "content-type": "application/json"
            }
            let body: string
            if (r < 0.55) body = JSON.stringify(mutate(random))
            else if (r < 0.75) body = rawBodies(random)
            else if (r < 0.85) {
              body = JSON.stringify(validBody)
              headers.authorization = [
                "",
                "Bearer",
                "Bearer cnd_",
                "Basic abc",
                `Bearer ${key}x`,
                `bearer  ${"k".repeat(300)}`
              ][Math.floor(random() * 6)]!
            } else if (r < 0.92) {
              body = JSON.stringify(validBody)
              headers["content-type"] = ["text/plain", "application/xml", "", "multipart/form-data; boundary=x"][
                Math.floor(random() * 4)
              ]!
            } else body = JSON.stringify({ ...validBody, pad: "z".repeat(70_000 + Math.floor(random() * 10_000)) })
            const response = await fetch(`${server.url}/v1/interviews`, { method: "POST", headers, body })
            const text = await response.text()
            return { status: response.status, text }
          })
        )
        for (const { status, text } of results) {
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
          expect(status, text).toBeGreaterThanOrEqual(400)
          expect(status, text).toBeLessThan(500)
          const parsed = JSON.parse(text) as { error: { code: string; message: string } }
          expect(parsed.error.code.length).toBeGreaterThan(0)
          expect(parsed.error.message.length).toBeGreaterThan(0)
        }
      }
      expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(total)
      // Every kind of refusal was exercised.
      for (const s of [400, 401, 413, 415]) expect(statuses.get(s) ?? 0).toBeGreaterThan(0)
      expect(await count()).toBe(before)
      const ok = await fetch(`${server.url}/v1/interviews`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(validBody)
      })
      expect(ok.status).toBe(201)
    })

    it("survives malformed request lines, bad lengths, slow and aborted requests", async () => {
      const auth = `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\n`
      // A body that never completes: 408 after the request timeout, connection closed.
      expect(
        await rawRequest(port, `POST /v1/interviews HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 500\r\n\r\n{"cand`)
      ).toBe(408)
      expect(
        await rawRequest(port, `POST /v1/interviews HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 99999999\r\n\r\n`)
      ).toBe(413)
      expect(await rawRequest(port, "GET /v1/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n")).toBe(400)
      // Garbage instead of HTTP: the server may close without answering, but must keep serving.
      await rawRequest(port, "\u0000\u0001garbage\r\n\r\n", 1000)
      await rawRequest(port, `GET / HTTP/1.1\r\n${"X-Long: y\r\n".repeat(2000)}\r\n`, 1000)
      // Aborted mid-body: the client goes away; nothing is written.
      const before = await count()
      await new Promise<void>((resolve) => {
        const socket = Net.connect(port, "127.0.0.1", () => {
          socket.write(
            `POST /v1/interviews HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 400\r\n\r\n{"candidate":{"name":"A"}`
          )
          setTimeout(() => {
            socket.destroy()
            resolve()
          }, 100)
        })
        socket.on("error", () => {})
      })
      expect(await count()).toBe(before)
      const health = await fetch(`${server.url}/healthz`)
      expect(health.status).toBe(200)
    })
  })
