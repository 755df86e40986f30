import * as Net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { startTcpProxy, type TcpProxy, targetOf, throughProxy } from "./TcpProxy.ts"

/** A line echo server: answers every chunk with the same bytes. */
let echo: Net.Server
let echoPort = 0
beforeAll(async () => {
  echo = Net.createServer((s) => {
    s.on("error", () => {})
    s.pipe(s)
  })
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r))
  echoPort = (echo.address() as Net.AddressInfo).port
})
afterAll(() => new Promise<void>((r) => echo.close(() => r())))

interface Conn {
  readonly socket: Net.Socket
  readonly received: () => string
  /** Resolves with how the socket ended: "close" (clean or reset) once it is closed. */
  readonly closed: Promise<string>
}

const connect = (port: number): Promise<Conn> =>
  new Promise((resolve, reject) => {
    let data = ""
    let error = ""
    const socket = Net.connect({ host: "127.0.0.1", port })
    const closed = new Promise<string>((r) => socket.on("close", () => r(error === "" ? "closed" : error)))
    socket.on("data", (d) => {
      data += d.toString()
    })
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message
      reject(e)
    })
    socket.once("connect", () => resolve({ socket, received: () => data, closed }))
  })

const roundTrip = async (c: Conn, text: string) => {
  const before = c.received().length
  c.socket.write(text)
  const deadline = Date.now() + 5_000
  while (c.received().length < before + text.length) {
    if (Date.now() > deadline) throw new Error(`no echo of ${text}`)
    await new Promise((r) => setTimeout(r, 5))
  }
  return c.received().slice(before)
}

describe("TcpProxy", () => {
  let proxy: TcpProxy
  beforeAll(async () => {
    proxy = await startTcpProxy({ host: "127.0.0.1", port: echoPort })
  })
  afterAll(() => proxy.close())

  it("forwards, cuts every connection and refuses new ones while cut, then forwards again", async () => {
    const a = await connect(proxy.port)
    expect(await roundTrip(a, "hello")).toBe("hello")
    expect(proxy.open()).toBe(1)

    proxy.cut()
    expect(await a.closed).toMatch(/closed|ECONNRESET/)
    expect(proxy.open()).toBe(0)
    // A new connection is accepted by the kernel, then reset at once: no byte gets through.
    const b = await connect(proxy.port).catch(() => undefined)
    if (b !== undefined) {
      b.socket.on("error", () => {})
      b.socket.write("lost")
      expect(await b.closed).toMatch(/closed|ECONNRESET/)
      expect(b.received()).toBe("")
    }
    expect(proxy.refused()).toBe(1)

    proxy.restore()
    const c = await connect(proxy.port)
    expect(await roundTrip(c, "again")).toBe("again")
    expect(proxy.accepted()).toBe(2)
    c.socket.destroy()
  })

  it("rewrites URLs to go through the proxy", () => {
    expect(targetOf("postgres://postgres@127.0.0.1:5432/test")).toEqual({ host: "127.0.0.1", port: 5432 })
    expect(targetOf("redis://localhost")).toEqual({ host: "localhost", port: 6379 })
    expect(throughProxy("postgres://postgres@127.0.0.1:5432/test", proxy)).toBe(
      `postgres://postgres@127.0.0.1:${proxy.port}/test`
    )
  })
})
