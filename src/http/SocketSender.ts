/**
 * JSON messages to one uWS WebSocket, with a backpressure policy instead of uWS's silent drops: above the soft
 * limit of unsent bytes, optional messages are skipped and essential ones are held (in order) until `drain`;
 * a socket that stays slow for `notReadingTimeoutMs`, or holds more than `maxHeld` messages, is closed with 4002.
 * Every `send()` result is checked; a message uWS drops anyway (past its hard limit) closes the socket when it
 * was essential, since the client's view would otherwise silently diverge.
 */
import type uWS from "uWebSockets.js"
import { CloseCodes } from "../../schemas/Protocol.ts"

export interface SenderLimits {
  readonly softBytes: number
  readonly maxHeld: number
  readonly notReadingTimeoutMs: number
}

const SEND_DROPPED = 2

export class SocketSender {
  private ws: uWS.WebSocket<unknown> | undefined
  private held: Array<string> = []
  private slowSince: number | undefined
  closed = false
  skipped = 0

  constructor(
    readonly id: number,
    private readonly limits: SenderLimits
  ) {}

  /** Called in `open`; messages sent before are held until then. */
  bind(ws: uWS.WebSocket<unknown>): void {
    this.ws = ws
    this.drain()
  }

  send(message: object, essential: boolean): void {
    this.sendText(JSON.stringify(message), essential)
  }

  sendText(text: string, essential: boolean): void {
    if (this.closed) return
    const ws = this.ws
    if (ws === undefined || this.held.length > 0 || ws.getBufferedAmount() > this.limits.softBytes) {
      this.slowSince ??= Date.now()
      if (!essential) {
        this.skipped++
        return
      }
      if (this.held.length >= this.limits.maxHeld) {
        this.close(CloseCodes.notReading, "client is not reading")
        return
      }
      this.held.push(text)
      return
    }
    let result = 0
    ws.cork(() => {
      result = ws.send(text, false)
    })
    if (result === SEND_DROPPED && essential) this.close(CloseCodes.notReading, "client is not reading")
  }

  /** uWS `drain`: sends held messages while the socket takes them. */
  drain(): void {
    const ws = this.ws
    if (this.closed || ws === undefined) return
    while (this.held.length > 0 && ws.getBufferedAmount() <= this.limits.softBytes) {
      const text = this.held.shift()!
      let result = 0
      ws.cork(() => {
        result = ws.send(text, false)
      })
      if (result === SEND_DROPPED) {
        this.close(CloseCodes.notReading, "client is not reading")
        return
      }
    }
    if (this.held.length === 0 && ws.getBufferedAmount() <= this.limits.softBytes) this.slowSince = undefined
  }

  /** Whether optional messages would currently be skipped. */
  get slow(): boolean {
    return this.slowSince !== undefined
  }

  /** Closes a socket that has not been reading for too long; true when it did. */
  check(now: number): boolean {
    if (this.closed || this.slowSince === undefined) return false
    this.drain()
    if (this.slowSince === undefined || now - this.slowSince < this.limits.notReadingTimeoutMs) return false
    this.close(CloseCodes.notReading, "client is not reading")
    return true
  }

  close(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.held = []
    const ws = this.ws
    if (ws === undefined) return
    ws.cork(() => ws.end(code, reason))
  }

  /** uWS `close`: the socket is gone; nothing may touch it any more. */
  markClosed(): void {
    this.closed = true
    this.held = []
    this.ws = undefined
  }
}
