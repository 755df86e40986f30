/** Recruiter routes for interviews: create (with questions and rubrics), read, list, erase. */
import { Effect, Option } from "effect"
import {
  CreateInterviewRequest,
  CreateInterviewResponse,
  Interview,
  InterviewPage,
  ListInterviewsQuery
} from "../../../schemas/Api.ts"
import { liveKey } from "../../pipeline/LiveSink.ts"
import { AuditLog } from "../../store/AuditLog.ts"
import { Interviews, InvalidCursor } from "../../store/Interviews.ts"
import { LiveStore } from "../../store/LiveStore.ts"
import { MediaStore } from "../../store/MediaStore.ts"
import { Tenants } from "../../store/Tenants.ts"
import { SessionRegistry } from "../../actors/SessionRegistry.ts"
import { ApiError } from "../ApiError.ts"
import { JoinTokens } from "../JoinTokens.ts"
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
    handle: ({ body, principal }) =>
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
            detail: { questions: interview.questions.length, affectSignals: interview.affectSignals }
          })
          .pipe(Effect.mapError(dbUnavailable))
        const wsBase = server.publicUrl.replace(/^http/, "ws")
        return json(201, {
          id: interview.id,
          candidateToken: token.token,
          joinUrl: `${wsBase}/v1/interviews/${interview.id}/stream?token=${encodeURIComponent(token.token)}`,
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
    handle: ({ params, principal }) => Effect.map(requireInterview(principal.tenantId, params.id!), (i) => json(200, i))
  }),
  route({
    method: "delete",
    path: "/v1/interviews/:id",
    operationId: "eraseInterview",
    summary: "Erase an interview and everything recorded about it (answers, scores, media, reports)",
    tags: ["interviews"],
    access: "apiKey",
    responses: { 204: { description: "Erased" } },
    handle: ({ params, principal }) =>
      Effect.gen(function* () {
        const interview = yield* requireInterview(principal.tenantId, params.id!)
        const media = yield* MediaStore
        const live = yield* LiveStore
        const sessions = yield* SessionRegistry
        // The live session stops first and nothing of it is written afterwards; then media (if that fails the rows
        // still point at it and the erasure can be retried), rows and the live view go.
        const objects = yield* sessions.erase(
          interview.id,
          Effect.gen(function* () {
            const objects = yield* media
              .deletePrefix(`${interview.id}/`)
              .pipe(Effect.mapError(() => ApiError.unavailable("media store unavailable; nothing was erased, retry")))
            yield* Effect.flatMap(Interviews, (r) => r.erase(principal.tenantId, interview.id)).pipe(
              Effect.mapError(dbUnavailable)
            )
            yield* live.del(liveKey(interview.id)).pipe(Effect.ignore)
            return objects
          })
        )
        yield* Effect.flatMap(AuditLog, (a) =>
          a.record({
            tenantId: principal.tenantId,
            actor: principal.actor,
            action: "interview.erase",
            subject: interview.id,
            detail: { mediaObjects: objects }
          })
        ).pipe(Effect.mapError(dbUnavailable))
        return { status: 204 }
      })
  })
]
