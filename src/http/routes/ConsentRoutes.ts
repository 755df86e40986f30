/**
 * Consent as a record: the candidate states what they agree to (with the version of the notice they were shown),
 * every decision is kept and audited, and recruiters can read them. The latest decision per kind is in force.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { Consent, ConsentList, RecordConsentRequest } from "../../../schemas/Consent.ts"
import { AuditLog } from "../../store/AuditLog.ts"
import { newId, toIso } from "../../store/Rows.ts"
import { ApiError } from "../ApiError.ts"
import { json, route } from "../Route.ts"
import { candidateInterview } from "./AnswerRoutes.ts"
import { requireInterview } from "./InterviewRoutes.ts"

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

const toConsent = (r: any) => ({
  id: r.id,
  kind: r.kind,
  granted: r.granted,
  noticeVersion: r.notice_version,
  createdAt: toIso(r.created_at)
})

export const consentRoutes = [
  route({
    method: "post",
    path: "/v1/interviews/:id/consents",
    operationId: "recordConsent",
    summary: "Candidate: record a consent decision (given, refused or withdrawn)",
    tags: ["consent"],
    access: "candidate",
    body: RecordConsentRequest,
    responses: { 201: { description: "Recorded and audited", schema: Consent } },
    handle: ({ params, headers, body }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!)
        const sql = yield* SqlClient.SqlClient
        const audit = yield* AuditLog
        const rows = yield* sql`
          INSERT INTO consents (id, interview_id, kind, granted, notice_version)
          VALUES (${newId()}, ${interview.id}, ${body.kind}, ${body.granted}, ${body.noticeVersion})
          RETURNING *`.pipe(
          Effect.tap(() =>
            audit.record({
              tenantId: interview.tenantId,
              actor: `candidate:${interview.id}`,
              action: body.granted ? "consent.grant" : "consent.refuse",
              subject: interview.id,
              detail: { kind: body.kind, noticeVersion: body.noticeVersion }
            })
          ),
          sql.withTransaction,
          Effect.mapError(dbUnavailable)
        )
        return json(201, toConsent(rows[0]))
      })
  }),
  route({
    method: "get",
    path: "/v1/interviews/:id/consents",
    operationId: "listConsents",
    summary: "The candidate's consent decisions, oldest first",
    tags: ["consent"],
    access: "apiKey",
    responses: { 200: { description: "Consent decisions", schema: ConsentList } },
    handle: ({ params, principal }) =>
      Effect.gen(function* () {
        const interview = yield* requireInterview(principal.tenantId, params.id!)
        const sql = yield* SqlClient.SqlClient
        const rows =
          yield* sql`SELECT * FROM consents WHERE interview_id = ${interview.id} ORDER BY created_at, id`.pipe(
            Effect.mapError(dbUnavailable)
          )
        return json(200, { items: rows.map(toConsent) })
      })
  })
]
