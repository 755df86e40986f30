/** Records a candidate's consent decisions through the API, as a candidate's client does before streaming frames. */

export type ConsentKind = "recording" | "affect_analysis" | "data_processing"

export const recordConsent = async (
  url: string,
  interview: { readonly interviewId: string; readonly candidateToken: string },
  kind: ConsentKind,
  granted = true,
  noticeVersion = "1"
): Promise<Response> =>
  fetch(`${url}/v1/interviews/${interview.interviewId}/consents`, {
    method: "POST",
    headers: { authorization: `Bearer ${interview.candidateToken}`, "content-type": "application/json" },
    body: JSON.stringify({ kind, granted, noticeVersion })
  })

/** Consent to data processing and affect analysis on notice version 1 (the default); fails the test otherwise. */
export const consentToAll = async (
  url: string,
  interview: { readonly interviewId: string; readonly candidateToken: string }
): Promise<void> => {
  for (const kind of ["data_processing", "affect_analysis"] as const) {
    const res = await recordConsent(url, interview, kind)
    if (res.status !== 201) throw new Error(`consent ${kind}: HTTP ${res.status} ${await res.text()}`)
  }
}
