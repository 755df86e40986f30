/**
 * A TCP proxy a test owns, standing between the engine and a real server (Postgres, Redis) so that an outage is a
 * real one: `cut()` destroys every open connection and closes each new one at once (as a server that is down
 * would: the client sees its connection reset), `restore()` forwards again. Loopback only.
 */
import * as Net from "node:net"

export interface TcpProxy {
  readonly port: number
  /** `host:port` of the proxy, for building URLs. */
  readonly address: string
  /** Connections accepted and forwarded so far (cut ones included). */
  readonly accepted: () => number
  /** Connections refused while cut. */
  readonly refused: () => number
  /** Connections currently forwarded. */
  readonly open: () => number
  readonly isCut: () => boolean
  /** Destroys every open connection; new ones are closed at once until `restore`. */
  readonly cut: () => void
  readonly restore: () => void
  readonly close: () => Promise<void>
}

export const startTcpProxy = (target: { host: string; port: number }): Promise<TcpProxy> =>
  new Promise((resolve, reject) => {
    const pairs = new Set<{ client: Net.Socket; upstream: Net.Socket }>()
    let down = false
    let accepted = 0
    let refused = 0
    const server = Net.createServer((client) => {
      if (down) {
        refused++
        client.resetAndDestroy()
        return
      }
      accepted++
      const upstream = Net.connect({ host: target.host, port: target.port })
      const pair = { client, upstream }
      pairs.add(pair)
      const end = () => {
        pairs.delete(pair)
        client.destroy()
        upstream.destroy()
      }
      client.on("error", end).on("close", end)
      upstream.on("error", end).on("close", end)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      resolve({
        port,
        address: `127.0.0.1:${port}`,
        accepted: () => accepted,
        refused: () => refused,
        open: () => pairs.size,
        isCut: () => down,
        cut: () => {
          down = true
          for (const { client, upstream } of [...pairs]) {
            client.resetAndDestroy()
            upstream.destroy()
          }
          pairs.clear()
        },
        restore: () => {
          down = false
        },
        close: () =>
          new Promise<void>((done) => {
            down = true
            for (const { client, upstream } of pairs) {
              client.destroy()
              upstream.destroy()
            }
            pairs.clear()
            server.close(() => done())
          })
      })
    })
  })

/** Host and port of a `postgres://` or `redis://` URL. */
export const targetOf = (url: string) => {
  const u = new URL(url)
  const defaultPort = u.protocol.startsWith("redis") ? 6379 : 5432
  return { host: u.hostname, port: u.port === "" ? defaultPort : Number(u.port) }
}

/** The same URL pointing at the proxy instead. */
export const throughProxy = (url: string, proxy: TcpProxy) => {
  const u = new URL(url)
  u.hostname = "127.0.0.1"
  u.port = String(proxy.port)
  return u.toString()
}
