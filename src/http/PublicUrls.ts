/** The addresses Candor hands out, all on PUBLIC_URL (else the listening address). */

/** The candidate WebSocket of an interview, without its token. */
export const streamUrl = (publicUrl: string, interviewId: string): string =>
  `${publicUrl.replace(/^http/, "ws")}/v1/interviews/${encodeURIComponent(interviewId)}/stream`

/**
 * The candidate page of an interview. The token rides in the fragment, which browsers never send: it stays out of
 * server and proxy logs, and the page moves it out of the address bar once read.
 */
export const joinUrl = (publicUrl: string, interviewId: string, token: string): string =>
  `${publicUrl}/join/${encodeURIComponent(interviewId)}#token=${encodeURIComponent(token)}`
