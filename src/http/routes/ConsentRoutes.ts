/**
 * Consent as a record: the candidate states what they agree to (with the version of the notice they were shown),
 * every decision is kept and audited, and recruiters can read them. The latest decision per kind is in force, and
 * it counts only on the tenant's current notice version. Once the row is committed, the interview's session actor
 * is told (a `consent` command through the registry, like any other change), so a withdrawal stops frame or affect
 * analysis from the next frame on; the reply is sent only after the actor took it.
 */
import { Effect } from "effect"
import { Consent, ConsentList, RecordConsentRequest } from "../../../schemas/Consent.ts"
import { SessionRegistry } from "../../actors/SessionRegistry.ts"
import { currentNoticeVersion, listConsents, recordConsent } from "../../store/Consents.ts"
import { ApiError } from "../ApiError.ts"
import { audit } from "../Audited.ts"
import { json, route } from "../Route.ts"
import { candidateInterview } from "./AnswerRoutes.ts"
import { requireInterview } from "./InterviewRoutes.ts"

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

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
        const consent = yield* recordConsent(interview, body).pipe(Effect.mapError(dbUnavailable))
        const currentNotice = yield* currentNoticeVersion(interview.tenantId).pipe(Effect.mapError(dbUnavailable))
        const registry = yield* SessionRegistry
        // Recorded again on a retry (a new row, the same decision): the session hears of it either way.
        yield* registry
          .ask(interview, {
            _tag: "consent",
            kind: consent.kind,
            granted: consent.granted,
            noticeVersion: consent.noticeVersion,
            at: Date.parse(consent.createdAt),
            currentNotice: currentNotice ?? consent.noticeVersion
          })
          .pipe(
            Effect.mapError((e) =>
              e.reason === "gone"
                ? ApiError.notFound("interview")
                : ApiError.unavailable(`recorded, but the live session was not told (${e.message}); send it again`)
            )
          )
        return json(201, consent)
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
    handle: (request) =>
      Effect.gen(function* () {
        const interview = yield* requireInterview(request.principal.tenantId, request.params.id!)
        const items = yield* listConsents(interview.id).pipe(Effect.mapError(dbUnavailable))
        yield* audit(request, "consents.read", interview.id)
        return json(200, { items })
      })
  })
]
