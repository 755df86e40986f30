/**
 * One delivery attempt: a signed JSON POST to the webhook's URL. The host is resolved and checked first
 * (`TargetPolicy`), then the connection goes to one of exactly those addresses (the socket's lookup is pinned to
 * them), so the name cannot resolve elsewhere between the check and the connect. Redirects are not followed (a 3xx
 * is a failed attempt); the whole attempt has a deadline.
 */
import { Effect } from "effect"
import * as Http from "node:http"
import * as Https from "node:https"
import type { LookupFunction } from "node:net"
import { VERSION } from "../Version.ts"
import { SIGNATURE_HEADER, sign } from "./Signature.ts"
import { checkTarget, type ResolvedAddress } from "./TargetPolicy.ts"

export const USER_AGENT = `Candor-Webhooks/${VERSION}`

/** The start of a receiver's answer kept with the attempt. */
const RESPONSE_EXCERPT_BYTES = 1024

export interface SendRequest {
  readonly url: string
  readonly secret: string
  readonly body: string
  readonly timeoutMs: number
  readonly allowPrivate: boolean
}

/** What came of an attempt: a status when the receiver answered, an error when it did not (or was refused). */
export interface SendResult {
  readonly status: number | null
  readonly responseBody: string | null
  readonly error: string | null
  readonly durationMs: number
}

/** A lookup that answers only with the checked addresses, in whichever form the socket asks for. */
const pinnedLookup =
  (addresses: ReadonlyArray<ResolvedAddress>): LookupFunction =>
  (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : undefined
    const usable = addresses.filter((a) => wanted === undefined || a.family === wanted)
    if (usable.length === 0) {
      const error = Object.assign(new Error("no checked address of the requested family"), { code: "ENOTFOUND" })
      if (options.all) (callback as any)(error, [])
      else callback(error, "", 0)
    } else if (options.all) {
      ;(callback as any)(
        null,
        usable.map((a) => ({ address: a.address, family: a.family }))
      )
    } else {
      callback(null, usable[0]!.address, usable[0]!.family)
    }
  }

const post = (
  url: URL,
  addresses: ReadonlyArray<ResolvedAddress>,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number
): Effect.Effect<{ status: number; body: string }, Error> =>
  Effect.callback<{ status: number; body: string }, Error>((resume) => {
    const client = url.protocol === "https:" ? Https : Http
    let done = false
    const finish = (effect: Effect.Effect<{ status: number; body: string }, Error>) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resume(effect)
    }
    const request = client.request(url, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      lookup: pinnedLookup(addresses),
      agent: false
    })
    const timer = setTimeout(() => {
      request.destroy(new Error(`timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    request.on("error", (e) => finish(Effect.fail(e)))
    request.on("response", (response) => {
      const chunks: Array<Buffer> = []
      let size = 0
      const answer = () =>
        finish(
          Effect.succeed({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString("utf8")
          })
        )
      response.on("data", (chunk: Buffer) => {
        if (size < RESPONSE_EXCERPT_BYTES) chunks.push(chunk)
        size += chunk.length
        // Enough read to show what the receiver said; the rest is not waited for.
        if (size >= RESPONSE_EXCERPT_BYTES) {
          answer()
          response.destroy()
        }
      })
      response.on("end", answer)
      response.on("error", (e) => finish(Effect.fail(e)))
    })
    request.end(body)
    return Effect.sync(() => {
      done = true
      clearTimeout(timer)
      request.destroy()
    })
  })

/** Signs `body` now and POSTs it; never fails: a refusal or network error is an attempt's outcome. */
export const send = (request: SendRequest): Effect.Effect<SendResult> =>
  Effect.gen(function* () {
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    const target = yield* Effect.result(
      checkTarget(request.url, request.allowPrivate).pipe(Effect.timeout(request.timeoutMs))
    )
    if (target._tag === "Failure") {
      const error =
        target.failure._tag === "TargetRefused"
          ? `refused: ${target.failure.message}`
          : `resolving the host timed out after ${request.timeoutMs} ms`
      return { status: null, responseBody: null, error, durationMs: elapsed() }
    }
    const timestamp = Math.floor(Date.now() / 1000)
    const headers = {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      [SIGNATURE_HEADER]: sign(request.secret, timestamp, request.body)
    }
    const answer = yield* Effect.result(
      post(target.success.url, target.success.addresses, headers, request.body, request.timeoutMs)
    )
    if (answer._tag === "Failure")
      return { status: null, responseBody: null, error: answer.failure.message, durationMs: elapsed() }
    const ok = answer.success.status >= 200 && answer.success.status < 300
    return {
      status: answer.success.status,
      responseBody: answer.success.body === "" ? null : answer.success.body,
      error: ok ? null : `HTTP ${answer.success.status}`,
      durationMs: elapsed()
    }
  }).pipe(Effect.withSpan("WebhookSender.send"))
