/**
 * Recruiter route for uploaded videos: the raw video of one answer as the body, stored in the media store and
 * analysed by a durable `video.analyze` job (`GET /v1/jobs/:id` follows it). The report then holds that
 * question's signals from the video.
 */
import { Effect } from "effect"
import { ErrorBody } from "../../../schemas/Api.ts"
import { acceptedVideoTypes, VideoAccepted, VideoUploadQuery } from "../../../schemas/VideoAnalysis.ts"
import { Jobs } from "../../jobs/Jobs.ts"
import { MediaStore } from "../../store/MediaStore.ts"
import { newId } from "../../store/Rows.ts"
import { videoAnalyzeKind, type VideoJobPayload } from "../../video/VideoJob.ts"
import { ApiError } from "../ApiError.ts"
import { audit } from "../Audited.ts"
import { json, route } from "../Route.ts"
import { requireInterview } from "./InterviewRoutes.ts"

const extensionOf = (contentType: string) =>
  contentType.split(";")[0]!.trim().toLowerCase() === "video/webm" ? "webm" : "mp4"

/** The routes, with the largest accepted upload (`VIDEO_MAX_BYTES`). */
export const videoRoutesWith = (options: { readonly maxBytes: number }) => [
  route({
    method: "post",
    path: "/v1/interviews/:id/video",
    operationId: "uploadVideo",
    summary: `Upload a video of one answer (raw body: ${acceptedVideoTypes.join(" or ")}, at most ${Math.round(options.maxBytes / 1024 / 1024)} MB) to be analysed like a live answer; the report then holds the question's signals from it`,
    tags: ["interviews"],
    access: "apiKey",
    role: "recruiter",
    query: VideoUploadQuery,
    rawBody: { maxBytes: options.maxBytes, contentTypes: acceptedVideoTypes },
    responses: {
      202: {
        description: "Stored; its analysis job is queued (follow it at `/v1/jobs/{jobId}`)",
        schema: VideoAccepted
      },
      400: { description: "Unknown question (unknown_question) or an empty body (empty_video)", schema: ErrorBody },
      404: { description: "No such interview", schema: ErrorBody },
      413: { description: "Larger than VIDEO_MAX_BYTES", schema: ErrorBody },
      415: { description: "Not video/mp4 or video/webm", schema: ErrorBody },
      503: { description: "Media store or database unavailable; nothing was queued", schema: ErrorBody }
    },
    handle: (request) =>
      Effect.gen(function* () {
        const { params, query, raw, headers, principal } = request
        const interview = yield* requireInterview(principal.tenantId, params.id!)
        if (!interview.questions.some((q) => q.id === query.questionId))
          return yield* ApiError.badRequest(`the interview has no question ${query.questionId}`, "unknown_question")
        if (raw === undefined || raw.byteLength === 0)
          return yield* ApiError.badRequest("the video is empty", "empty_video")
        const contentType = (headers["content-type"] ?? "video/mp4").split(";")[0]!.trim().toLowerCase()
        // The job's id is not known before it is queued; the upload's own id names the object and keys the job.
        const uploadId = newId()
        const mediaKey = `${interview.id}/videos/${uploadId}.${extensionOf(contentType)}`
        yield* Effect.flatMap(MediaStore, (media) => media.put(mediaKey, raw, contentType)).pipe(
          Effect.mapError(() => ApiError.unavailable("media store unavailable; nothing was stored, retry"))
        )
        const payload: VideoJobPayload = { interviewId: interview.id, questionId: query.questionId, mediaKey }
        const job = yield* Effect.flatMap(Jobs, (jobs) =>
          jobs.enqueue(videoAnalyzeKind, payload, {
            key: `video:${uploadId}`,
            tenantId: principal.tenantId,
            interviewId: interview.id
          })
        ).pipe(Effect.mapError(() => ApiError.unavailable("database unavailable; retry shortly")))
        yield* audit(request, "interview.video.upload", interview.id, {
          questionId: query.questionId,
          jobId: job.id,
          bytes: raw.byteLength,
          contentType
        })
        return json(202, { jobId: job.id })
      })
  })
]
