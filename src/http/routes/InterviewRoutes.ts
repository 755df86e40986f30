/** Recruiter routes for interviews: create (with questions and rubrics), read, list, erase. */
import { Effect, Option } from "effect"
import {
  CreateInterviewRequest,
  CreateInterviewResponse,
  ErrorBody,
  Interview,
  JoinLink,
  InterviewPage,
  ListInterviewsQuery
} from "../../../schemas/Api.ts"
import { ownerKey } from "../../cluster/SessionOwner.ts"
import { Erasure } from "../../retention/Erasure.ts"
import { AuditLog } from "../../store/AuditLog.ts"
import { Interviews, InvalidCursor } from "../../store/Interviews.ts"
import { LiveStore } from "../../store/LiveStore.ts"
import { Tenants } from "../../store/Tenants.ts"
import { ApiError } from "../ApiError.ts"
import { audit } from "../Audited.ts"
import { JoinTokens } from "../JoinTokens.ts"
import { joinUrl, streamUrl } from "../PublicUrls.ts"
import { json, route } from "../Route.ts"
import { HttpServer } from "../Server.ts"

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

/** Reads an interview of the caller's tenant; anything else is a 404, so ids of other tenants leak nothing. */
export const requireInterview = (tenantId: string, id: string) =>
  Effect.flatMap(Interviews, (repo) => repo.get(tenantId, id)).pipe(
    Effect.mapError(dbUnavailable),
    Effect.flatMap(Option.match({ onNone: () => Effect.fail(ApiError.notFound("interview")), onSome: Effect.succeed }))
  )

export const interviewRoutes = [
  route({
    method: "post",
    path: "/v1/interviews",
    operationId: "createInterview",
    summary: "Create an interview with its questions and rubrics",
    tags: ["interviews"],
    access: "apiKey",
    body: CreateInterviewRequest,
    responses: { 201: { description: "Created", schema: CreateInterviewResponse } },
    handle: ({ body, principal, remote }) =>
      Effect.gen(function* () {
        const server = yield* HttpServer
        const tenants = yield* Tenants
        const repo = yield* Interviews
        const tokens = yield* JoinTokens
        const audit = yield* AuditLog
        const tenant = yield* tenants
          .get(principal.tenantId)
          .pipe(
            Effect.mapError(dbUnavailable),
            Effect.flatMap(Option.match({ onNone: () => Effect.fail(ApiError.unauthorized()), onSome: Effect.succeed }))
          )
        const interview = yield* repo
          .create(tenant.id, body, tenant.affectPolicy === "enabled")
          .pipe(Effect.mapError(dbUnavailable))
        const token = yield* tokens.issue(interview.id, tenant.id)
        yield* audit
          .record({
            tenantId: tenant.id,
            actor: principal.actor,
            action: "interview.create",
            subject: interview.id,
            detail: { questions: interview.questions.length, affectSignals: interview.affectSignals },
            source: remote
          })
          .pipe(Effect.mapError(dbUnavailable))
        return json(201, {
          id: interview.id,
          candidateToken: token.token,
          joinUrl: joinUrl(server.publicUrl, interview.id, token.token),
          streamUrl: streamUrl(server.publicUrl, interview.id),
          expiresAt: token.expiresAt.toISOString()
        })
      })
  }),
  route({
    method: "get",
    path: "/v1/interviews",
    operationId: "listInterviews",
    summary: "List the tenant's interviews, newest first",
    tags: ["interviews"],
    access: "apiKey",
    query: ListInterviewsQuery,
    responses: { 200: { description: "One page", schema: InterviewPage } },
    handle: ({ query, principal }) =>
      Effect.gen(function* () {
        const repo = yield* Interviews
        const page = yield* repo
          .list(principal.tenantId, { limit: query.limit ?? 50, cursor: query.cursor, status: query.status })
          .pipe(
            Effect.mapError((e) =>
              e instanceof InvalidCursor ? ApiError.validation(`invalid query: cursor: ${e.message}`) : dbUnavailable()
            )
          )
        return json(200, page)
      })
  }),
  route({
    method: "get",
    path: "/v1/interviews/:id",
    operationId: "getInterview",
    summary: "Read one interview with its questions",
    tags: ["interviews"],
    access: "apiKey",
    responses: { 200: { description: "The interview", schema: Interview } },
    handle: (request) =>
      Effect.gen(function* () {
        const interview = yield* requireInterview(request.principal.tenantId, request.params.id!)
        yield* audit(request, "interview.read", interview.id)
        const owner = yield* Effect.flatMap(LiveStore, (live) => live.hgetall(ownerKey(interview.id))).pipe(
          Effect.orElseSucceed((): Record<string, string> => ({}))
        )
        const live =
          owner.runner !== undefined && owner.since !== undefined
            ? { runner: owner.runner, since: owner.since }
            : undefined
        return json(200, live === undefined ? interview : { ...interview, live })
      })
  }),
  route({
    method: "post",
    path: "/v1/interviews/:id/token",
    operationId: "reissueJoinToken",
    summary: "Issue the candidate a new join link (the old one keeps working until it expires)",
    tags: ["interviews"],
    access: "apiKey",
    responses: {
      201: { description: "A new join token and link", schema: JoinLink },
      409: { description: "The interview is finished or abandoned: there is nothing left to join", schema: ErrorBody }
    },
    handle: (request) =>
      Effect.gen(function* () {
        const interview = yield* requireInterview(request.principal.tenantId, request.params.id!)
        if (interview.status === "finished" || interview.status === "abandoned")
          return yield* ApiError.conflict(`the interview is ${interview.status}; there is nothing left to join`)
        const token = yield* Effect.flatMap(JoinTokens, (t) => t.issue(interview.id, interview.tenantId))
        yield* audit(request, "interview.token", interview.id)
        const server = yield* HttpServer
        return json(201, {
          candidateToken: token.token,
          joinUrl: joinUrl(server.publicUrl, interview.id, token.token),
          streamUrl: streamUrl(server.publicUrl, interview.id),
          expiresAt: token.expiresAt.toISOString()
        })
      })
  }),
  route({
    method: "delete",
    path: "/v1/interviews/:id",
    operationId: "eraseInterview",
    summary: "Erase an interview and everything recorded about it (answers, scores, media, reports)",
    tags: ["interviews"],
    access: "apiKey",
    responses: { 204: { description: "Erased" } },
    handle: ({ params, principal, remote }) =>
      Effect.gen(function* () {
        const interview = yield* requireInterview(principal.tenantId, params.id!)
        // The same path as retention: live session stopped first, media, live view, then rows with a tombstone.
        yield* Effect.flatMap(Erasure, (e) =>
          e.erase({
            tenantId: principal.tenantId,
            interviewId: interview.id,
            reason: "request",
            actor: principal.actor,
            source: remote
          })
        ).pipe(
          Effect.mapError((e) =>
            e.stage === "media"
              ? ApiError.unavailable("media store unavailable; nothing was erased, retry")
              : dbUnavailable()
          )
        )
        return { status: 204 }
      })
  })
]
