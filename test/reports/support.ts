/** Helpers shared by the report tests: HTTP calls as recruiter or candidate, waiting for a complete report. */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Report } from "../../schemas/Report.ts"
import type { TestServer } from "../support/TestServer.ts"

export interface Client {
  readonly call: (path: string, init?: RequestInit & { bearer?: string | null }) => Promise<Response>
}

export const client = (server: TestServer, defaultBearer: string): Client => ({
  call: (path, init = {}) => {
    const headers = new Headers(init.headers)
    const bearer = init.bearer === undefined ? defaultBearer : init.bearer
    if (bearer !== null) headers.set("authorization", `Bearer ${bearer}`)
    if (typeof init.body === "string" && !headers.has("content-type")) headers.set("content-type", "application/json")
    return fetch(`${server.url}${path}`, { ...init, headers })
  }
})

export const answer = (c: Client, token: string, interviewId: string, questionId: string, text: string) =>
  c.call(`/v1/interviews/${interviewId}/answers`, {
    method: "POST",
    bearer: token,
    body: JSON.stringify({ questionId, text })
  })

/** Polls the report until it is complete (scoring runs in the background); fails after `attempts` polls. */
export const completeReport = async (c: Client, interviewId: string, attempts = 600): Promise<Report> => {
  let last: unknown
  for (let i = 0; i < attempts; i++) {
    const r = await c.call(`/v1/interviews/${interviewId}/report`)
    last = await r.json()
    if (r.status === 200 && (last as Report).complete) return last as Report
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`report never became complete: ${JSON.stringify(last).slice(0, 2000)}`)
}

/** Rows of `table` for an interview (answers, scoring jobs...). */
export const countRows = (server: TestServer, table: "answers" | "scoring_jobs" | "reviews", interviewId: string) =>
  server.run(
    Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(table)} WHERE interview_id = ${interviewId}`
    ).pipe(Effect.map((rows) => rows[0]!.n))
  )

export const questionIds = async (c: Client, interviewId: string): Promise<Array<string>> => {
  const r = await c.call(`/v1/interviews/${interviewId}`)
  const body = (await r.json()) as { questions: Array<{ id: string }> }
  return body.questions.map((q) => q.id)
}

export const goodAnswers = [
  "When our checkout traffic grew tenfold I first measured the bottleneck before changing anything: the database connection pool was saturated. We added horizontal scaling behind the load balancer, a cache for the catalogue, and back-pressure with load shedding at the gateway, which kept p99 latency under 300 ms.",
  "A teammate wanted to rewrite our queue consumer in a new language. I listened to the other view first, then we built a small prototype and used data from a load test to decide. The outcome was to keep the current stack and fix the batching; I learned to ask for evidence early."
]
