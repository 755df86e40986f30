/**
 * A test client for the candidate protocol over the `ws` package: decodes every server message with the
 * protocol's Schema (so the wire contract itself is under test) and lets tests wait for messages. A candidate
 * client is strict: once the server sent a message that fails decoding, every wait fails and says which.
 * (The recruiter live socket speaks another protocol: its messages are kept raw in `invalid`.)
 */
import { Schema } from "effect"
import WebSocket from "ws"
import { type ServerMessage, ServerMessage as ServerMessageSchema } from "../../../schemas/Protocol.ts"
import { encodeFrame } from "../../../src/pipeline/FrameProtocol.ts"

const decode = Schema.decodeUnknownSync(ServerMessageSchema)

export interface Closed {
  readonly code: number
  readonly reason: string
}

export class Client {
  readonly messages: Array<ServerMessage> = []
  readonly invalid: Array<string> = []
  closed: Closed | undefined
  private waiters: Array<() => void> = []

  private constructor(
    readonly ws: WebSocket,
    private readonly strict: boolean
  ) {
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? "(binary)" : data.toString()
      try {
        this.messages.push(decode(JSON.parse(text)))
      } catch {
        this.invalid.push(text)
      }
      this.notify()
    })
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.notify()
    })
    ws.on("error", () => {})
  }

  /** Opens a socket; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, headers: Record<string, string> = {}, strict = false): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers })
      const client = new Client(ws, strict)
      ws.once("open", () => resolve(client))
      ws.once("unexpected-response", (_req, res) => {
        let body = ""
        res.on("data", (c: Buffer) => {
          body += c.toString()
        })
        res.on("end", () =>
          reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body }))
        )
      })
      ws.once("error", (e) => reject(e))
    })
  }

  static candidate(wsUrl: string, interviewId: string, token: string) {
    return Client.connect(`${wsUrl}/v1/interviews/${interviewId}/stream?token=${encodeURIComponent(token)}`, {}, true)
  }

  private notify() {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  send(message: unknown) {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message))
  }

  sendFrame(seq: number, jpeg: Uint8Array, capturedAt = Date.now()) {
    this.ws.send(encodeFrame(seq, capturedAt, jpeg))
  }

  sendBinary(bytes: Uint8Array) {
    this.ws.send(bytes)
  }

  /** Messages of one tag received so far. */
  of<T extends ServerMessage["_tag"]>(tag: T): Array<Extract<ServerMessage, { _tag: T }>> {
    return this.messages.filter((m): m is Extract<ServerMessage, { _tag: T }> => m._tag === tag)
  }

  /** Waits until `predicate` holds over the messages received (or the socket closes, or time runs out). */
  async until(predicate: (c: Client) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!predicate(this)) {
      if (this.strict && this.invalid.length > 0)
        throw new Error(`the server sent a message that fails the protocol's schema: ${this.invalid[0]}`)
      if (this.closed !== undefined && !predicate(this))
        throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(this.messages.slice(-3))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000))
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Waits for the next message of `tag` after the `after`-th one. */
  async next<T extends ServerMessage["_tag"]>(tag: T, after = this.of(tag).length, timeoutMs?: number) {
    await this.until((c) => c.of(tag).length > after, `message ${tag}`, timeoutMs)
    return this.of(tag)[after]!
  }

  async closedWith(timeoutMs = 30_000): Promise<Closed> {
    await this.until((c) => c.closed !== undefined, "close", timeoutMs).catch(() => {})
    if (this.closed === undefined) throw new Error("socket did not close")
    return this.closed
  }

  close() {
    this.ws.close()
  }
}

/** The HTTP status of a refused upgrade (or 101 if it succeeded, after closing the socket). */
export const upgradeStatus = async (url: string, headers: Record<string, string> = {}): Promise<number> => {
  try {
    const c = await Client.connect(url, headers)
    c.close()
    return 101
  } catch (e) {
    return (e as { status?: number }).status ?? 0
  }
}
