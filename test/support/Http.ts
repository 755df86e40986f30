/** Small HTTP helpers for tests that talk to an engine over its real API. */

export interface Ready {
  readonly status: number
  readonly body: {
    readonly status: string
    readonly checks: Record<string, { readonly ok: boolean; readonly error?: string }>
  }
}

export const readyz = async (url: string): Promise<Ready> => {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) })
  return { status: res.status, body: (await res.json()) as Ready["body"] }
}

/** Polls `/readyz` until it answers `status`; returns that answer and how long it took. */
export const untilReady = async (url: string, status: number, timeoutMs = 30_000) => {
  const started = Date.now()
  let last: Ready | string = "no answer"
  while (Date.now() - started < timeoutMs) {
    try {
      last = await readyz(url)
      if (last.status === status) return { ...last, ms: Date.now() - started }
    } catch (e) {
      last = String(e)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`/readyz did not answer ${status} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
}

/** GET with the tenant API key; rejects unless the answer is 200. */
export const getJson = async <A>(url: string, apiKey: string): Promise<A> => {
  const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(10_000) })
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`)
  return (await res.json()) as A
}
