/**
 * Answers as a session records them. The candidate answers the current question on the socket; a caller may also
 * submit one over HTTP (`SubmittedAnswer`). Either becomes an `Answer` row, and a digest of its text kept with the
 * session's state recognises the same answer sent again (a client re-sending after a reconnect).
 */
import { createHash } from "node:crypto"
import type { SessionWrite } from "../store/SessionWrites.ts"

/**
 * An answer given outside the socket (over HTTP, typed or transcribed): to any question of the interview that is
 * not finished, in any order, and also before the candidate has started.
 */
export interface SubmittedAnswer {
  readonly _tag: "submitAnswer"
  readonly questionId: string
  readonly text: string
  readonly source: "text" | "audio"
  readonly transcription: Readonly<Record<string, unknown>> | null
}

/** An answer on record: its id, and the digest of its text. */
export interface AnswerOnRecord {
  readonly answerId: string
  readonly digest: string
}

/** A short digest of an answer's text: equal digests mean the same answer. */
export const answerDigest = (text: string): string =>
  createHash("sha256").update(text, "utf8").digest("base64url").slice(0, 22)

/** The row an answer is committed as; one per question, whichever way it came (`submitted` when over HTTP). */
export const answerWrite = (
  interviewId: string,
  questionId: string,
  answerId: string,
  text: string,
  submitted: SubmittedAnswer | undefined
): SessionWrite => ({
  _tag: "Answer",
  id: answerId,
  interviewId,
  questionId,
  body: text,
  idempotencyKey: `${interviewId}:${questionId}`,
  source: submitted?.source ?? "text",
  transcription: submitted?.transcription ?? null
})
