/** Recruiter routes for human reviews: the person's rating and decision, stored and audited. */
import { Effect } from "effect"
import { CreateReviewRequest, Review, ReviewList } from "../../../schemas/Report.ts"
import { Reviews } from "../../store/Reviews.ts"
import { ApiError } from "../ApiError.ts"
import { audit } from "../Audited.ts"
import { json, route } from "../Route.ts"
import { requireInterview } from "./InterviewRoutes.ts"

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

export const reviewRoutes = [
  route({
    method: "post",
    path: "/v1/interviews/:id/reviews",
    operationId: "createReview",
    summary: "Record a human review: reviewer, optional rating 1–5, decision (advance, hold, reject), notes",
    tags: ["reviews"],
    access: "apiKey",
    body: CreateReviewRequest,
    responses: { 201: { description: "Stored and audited", schema: Review } },
    handle: ({ params, principal, body, remote }) =>
      Effect.gen(function* () {
        const interview = yield* requireInterview(principal.tenantId, params.id!)
        const reviews = yield* Reviews
        const review = yield* reviews
          .add({ tenantId: principal.tenantId, interviewId: interview.id }, body, principal.actor, remote)
          .pipe(Effect.mapError(dbUnavailable))
        return json(201, review)
      })
  }),
  route({
    method: "get",
    path: "/v1/interviews/:id/reviews",
    operationId: "listReviews",
    summary: "The interview's human reviews, oldest first",
    tags: ["reviews"],
    access: "apiKey",
    responses: { 200: { description: "Reviews", schema: ReviewList } },
    handle: (request) =>
      Effect.gen(function* () {
        const interview = yield* requireInterview(request.principal.tenantId, request.params.id!)
        const items = yield* Effect.flatMap(Reviews, (r) => r.list(interview.id)).pipe(Effect.mapError(dbUnavailable))
        yield* audit(request, "reviews.read", interview.id)
        return json(200, { items })
      })
  })
]
