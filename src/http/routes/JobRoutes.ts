/** Durable jobs as the tenant sees them: status and progress of work it queued (an uploaded video's analysis). */
import { Effect, Schema } from "effect"
import { Jobs } from "../../jobs/Jobs.ts"
import { ApiError } from "../ApiError.ts"
import { json, route } from "../Route.ts"

export const JobStatusBody = Schema.Struct({
  id: Schema.String,
  kind: Schema.String,
  status: Schema.Literals(["queued", "running", "succeeded", "failed"]),
  progress: Schema.Number.annotate({ description: "0…1, as last reported by the job." }),
  error: Schema.optionalKey(
    Schema.String.annotate({ description: "Why it failed (or, while retried, why its last attempt failed)." })
  ),
  attempts: Schema.Int,
  interviewId: Schema.NullOr(Schema.String),
  result: Schema.optionalKey(Schema.Unknown),
  createdAt: Schema.String,
  finishedAt: Schema.NullOr(Schema.String)
}).annotate({ title: "Job" })

export const jobRoutes = [
  route({
    method: "get",
    path: "/v1/jobs/:id",
    operationId: "getJob",
    summary: "A durable job of the tenant: status, progress and, when it failed, why",
    tags: ["jobs"],
    access: "apiKey",
    responses: { 200: { description: "The job", schema: JobStatusBody } },
    handle: ({ params, principal }) =>
      Effect.gen(function* () {
        const job = yield* Effect.flatMap(Jobs, (j) => j.get(params.id!)).pipe(
          Effect.mapError(() => ApiError.unavailable("database unavailable; retry shortly"))
        )
        // Another tenant's job, or a system job (sweeps), is not found.
        if (job === undefined || job.tenantId !== principal.tenantId) return yield* ApiError.notFound("job")
        return json(200, {
          id: job.id,
          kind: job.kind,
          status: job.status,
          progress: job.progress,
          ...(job.error === null ? {} : { error: job.error }),
          attempts: job.attempts,
          interviewId: job.interviewId,
          ...(job.result === null ? {} : { result: job.result }),
          createdAt: job.createdAt,
          finishedAt: job.finishedAt
        })
      })
  })
]
