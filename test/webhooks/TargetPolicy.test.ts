/**
 * The server-side request forgery policy: which URLs and addresses a webhook may reach, and that a delivery checks
 * again at send time (a loopback receiver gets nothing unless private networks are allowed).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { sign, verify } from "../../src/webhooks/Signature.ts"
import { checkTarget, nonPublicReason } from "../../src/webhooks/TargetPolicy.ts"
import { send, USER_AGENT } from "../../src/webhooks/WebhookSender.ts"

const refusal = async (url: string) => {
  const exit = await Effect.runPromiseExit(checkTarget(url, false))
  if (Exit.isSuccess(exit)) throw new Error(`${url} was accepted`)
  return JSON.stringify(exit.cause)
}

describe("webhook target policy", () => {
  it("tells public addresses from every kind of private one", () => {
    for (const address of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:82a::200e"])
      expect(nonPublicReason(address), address).toBeUndefined()
    const cases: Record<string, string> = {
      "127.0.0.1": "loopback",
      "127.8.9.10": "loopback",
      "10.1.2.3": "private",
      "172.16.0.1": "private",
      "172.31.255.255": "private",
      "192.168.1.1": "private",
      "100.64.0.1": "shared (carrier-grade NAT)",
      "169.254.169.254": "link-local",
      "0.0.0.0": "unspecified",
      "224.0.0.1": "multicast",
      "255.255.255.255": "broadcast",
      "::": "unspecified",
      "::1": "loopback",
      "fe80::1": "link-local",
      "fd00::1": "unique-local",
      "fc12:3456::1": "unique-local",
      "ff02::1": "multicast",
      "::ffff:127.0.0.1": "loopback",
      "::ffff:7f00:1": "loopback",
      "::ffff:10.0.0.1": "private",
      "::ffff:169.254.169.254": "link-local",
      "64:ff9b::a9fe:a9fe": "link-local",
      "2002:7f00:1::": "loopback"
    }
    for (const [address, why] of Object.entries(cases)) expect(nonPublicReason(address), address).toBe(why)
    expect(nonPublicReason("172.32.0.1")).toBeUndefined()
    expect(nonPublicReason("::ffff:8.8.8.8")).toBeUndefined()
  })

  it("refuses private targets in every spelling, and bad URLs, with a clear message", async () => {
    for (const url of [
      "http://127.0.0.1/hook",
      "http://[::1]:8080/",
      "http://10.0.0.5/",
      "https://169.254.169.254/latest/meta-data",
      "http://[::ffff:127.0.0.1]/",
      "http://localhost:3000/",
      "http://api.localhost/",
      "http://2130706433/",
      "http://0x7f.1/",
      "http://0/",
      "http://[fd00::1]/"
    ]) {
      expect(await refusal(url), url).toMatch(/loopback|private|link-local|unique-local|unspecified/)
    }
    expect(await refusal("ftp://example.com/")).toContain("http or https")
    expect(await refusal("not a url")).toContain("absolute http or https URL")
    expect(await refusal("https://user:pw@example.com/")).toContain("credentials")
  })

  it("accepts them when private networks are allowed", async () => {
    const target = await Effect.runPromise(checkTarget("http://localhost:9/x", true))
    expect(target.addresses.length).toBeGreaterThan(0)
    expect((await Effect.runPromise(checkTarget("http://[::1]:9/", true))).addresses).toEqual([
      { address: "::1", family: 6 }
    ])
  })
})

describe("webhook sending", () => {
  const receiver = async (status: number) => {
    const received: Array<{ headers: Http.IncomingHttpHeaders; body: string }> = []
    const server = Http.createServer((req, res) => {
      let body = ""
      req.on("data", (c) => (body += c))
      req.on("end", () => {
        received.push({ headers: req.headers, body })
        res.writeHead(status, { location: "http://127.0.0.1:1/elsewhere" }).end("receiver says hi")
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const port = (server.address() as AddressInfo).port
    return { received, port, close: () => new Promise((resolve) => server.close(resolve)) }
  }

  it("checks the target again at delivery time: a loopback receiver gets nothing unless allowed", async () => {
    const r = await receiver(200)
    try {
      const base = { secret: "s3cret", body: '{"id":"e1"}', timeoutMs: 2_000 }
      const refused = await Effect.runPromise(
        send({ ...base, url: `http://127.0.0.1:${r.port}/`, allowPrivate: false })
      )
      expect(refused.status).toBeNull()
      expect(refused.error).toMatch(/^refused: .*loopback/)
      expect(r.received).toHaveLength(0)

      // By name, through the pinned lookup.
      const sent = await Effect.runPromise(send({ ...base, url: `http://localhost:${r.port}/in`, allowPrivate: true }))
      expect(sent).toMatchObject({ status: 200, error: null, responseBody: "receiver says hi" })
      expect(r.received).toHaveLength(1)
      const { headers, body } = r.received[0]!
      expect(body).toBe(base.body)
      expect(headers["content-type"]).toBe("application/json")
      expect(headers["user-agent"]).toBe(USER_AGENT)
      expect(verify("s3cret", String(headers["candor-signature"]), body, Math.floor(Date.now() / 1000))).toBe(true)
      expect(verify("other", String(headers["candor-signature"]), body, Math.floor(Date.now() / 1000))).toBe(false)
    } finally {
      await r.close()
    }
  })

  it("does not follow redirects and times out slow receivers", async () => {
    const r = await receiver(302)
    try {
      const result = await Effect.runPromise(
        send({ url: `http://127.0.0.1:${r.port}/`, secret: "s", body: "{}", timeoutMs: 2_000, allowPrivate: true })
      )
      expect(result).toMatchObject({ status: 302, error: "HTTP 302" })
      expect(r.received).toHaveLength(1)
    } finally {
      await r.close()
    }
    const silent = Http.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    try {
      const port = (silent.address() as AddressInfo).port
      const result = await Effect.runPromise(
        send({ url: `http://127.0.0.1:${port}/`, secret: "s", body: "{}", timeoutMs: 300, allowPrivate: true })
      )
      expect(result.status).toBeNull()
      expect(result.error).toContain("timed out after 300 ms")
    } finally {
      silent.closeAllConnections()
      await new Promise((resolve) => silent.close(resolve))
    }
  })

  it("signs <t>.<body> with HMAC-SHA256 and refuses stale timestamps", () => {
    const header = sign("k", 1_700_000_000, "{}")
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/)
    expect(verify("k", header, "{}", 1_700_000_100)).toBe(true)
    expect(verify("k", header, "{ }", 1_700_000_100)).toBe(false)
    expect(verify("k", header, "{}", 1_700_001_000)).toBe(false)
  })
})
