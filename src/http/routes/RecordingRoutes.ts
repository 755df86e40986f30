/**
 * Candidate routes for recorded answers (join token as bearer): start a resumable upload of one answer's
 * recording, send it in parts at the offset the server holds (`upload-offset` header), ask where it stands, and
 * complete it, which stores the recording and, where transcription is configured, its transcript as the answer.
 */
import { Effect } from "effect"
import { ErrorBody } from "../../../schemas/Api.ts"
import {
  CompletedRecording,
  RecordingOffsetMismatch,
  RecordingUploadState,
  StartRecordingQuery
} from "../../../schemas/Recording.ts"
import { answerFromRecording } from "../../recordings/RecordedAnswer.ts"
import { chunkBytes, type RecordingRefused, RecordingUploads } from "../../recordings/RecordingUploads.ts"
import type { RecordingUpload } from "../../store/Recordings.ts"
import { ApiError } from "../ApiError.ts"
import { json, type Reply, route } from "../Route.ts"
import { candidateInterview } from "./AnswerRoutes.ts"

const state = (upload: RecordingUpload, maxBytes: number) => ({
  uploadId: upload.id,
  questionId: upload.questionId,
  offset: upload.received,
  status: upload.status,
  maxBytes,
  chunkBytes
})

/** A refusal as the API answers it; a wrong offset carries the upload's offset in the body and a header. */
const refused = (e: RecordingRefused): Effect.Effect<Reply, ApiError> =>
  e.offset === undefined || e.status !== 409
    ? Effect.fail(new ApiError({ status: e.status, code: e.code, message: e.message }))
    : Effect.succeed({
        status: 409,
        json: { error: { code: e.code, message: e.message }, offset: e.offset },
        headers: { "upload-offset": String(e.offset) }
      })

const errors = {
  401: { description: "Missing, invalid or expired candidate token", schema: ErrorBody },
  403: { description: "Another interview's token, or no consent to recording (consent_required)", schema: ErrorBody },
  404: { description: "No such interview or upload", schema: ErrorBody }
}

const mediaType = (value: string | undefined) => (value ?? "video/webm").split(";")[0]!.trim().toLowerCase()

export const recordingRoutes = [
  route({
    method: "post",
    path: "/v1/interviews/:id/recordings",
    operationId: "startRecordingUpload",
    summary: "Recorded mode: start the resumable upload of one answer's recording (candidate join token as bearer)",
    tags: ["recordings"],
    access: "candidate",
    query: StartRecordingQuery,
    responses: {
      201: { description: "Started at offset 0", schema: RecordingUploadState },
      ...errors,
      409: {
        description: "Not a recorded-mode interview, it is over, or the question has a recording",
        schema: ErrorBody
      },
      413: { description: "The declared size is over RECORDING_MAX_BYTES", schema: ErrorBody }
    },
    handle: ({ params, headers, query }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!)
        const uploads = yield* RecordingUploads
        return yield* uploads.start(interview, query.questionId, mediaType(query.contentType), query.size).pipe(
          Effect.map((upload) => json(201, state(upload, uploads.maxBytes))),
          Effect.catchTag("RecordingRefused", refused)
        )
      })
  }),
  route({
    method: "get",
    path: "/v1/interviews/:id/recordings/:uploadId",
    operationId: "getRecordingUpload",
    summary: "Recorded mode: where an upload stands (the offset to resume from)",
    tags: ["recordings"],
    access: "candidate",
    responses: { 200: { description: "The upload", schema: RecordingUploadState }, ...errors },
    handle: ({ params, headers }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!)
        const uploads = yield* RecordingUploads
        return yield* uploads.status(interview, params.uploadId!).pipe(
          Effect.map((upload) => json(200, state(upload, uploads.maxBytes))),
          Effect.catchTag("RecordingRefused", refused)
        )
      })
  }),
  route({
    method: "put",
    path: "/v1/interviews/:id/recordings/:uploadId",
    operationId: "appendRecordingPart",
    summary: `Recorded mode: send the next part (application/octet-stream, at most ${chunkBytes / (1024 * 1024)} MB) at the offset in the \`upload-offset\` header`,
    tags: ["recordings"],
    access: "candidate",
    rawBody: { maxBytes: chunkBytes, contentTypes: ["application/octet-stream"] },
    responses: {
      200: { description: "Accepted; `offset` is where the next part starts", schema: RecordingUploadState },
      ...errors,
      409: {
        description: "The part is not at the upload's offset (or the upload is complete): resume from `offset`",
        schema: RecordingOffsetMismatch
      },
      413: { description: "The recording would exceed RECORDING_MAX_BYTES", schema: ErrorBody }
    },
    handle: ({ params, headers, raw }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!)
        const header = headers["upload-offset"] ?? ""
        if (!/^\d{1,12}$/u.test(header))
          return yield* ApiError.badRequest(
            "send the part's offset as an 'upload-offset: <bytes>' header",
            "bad_offset"
          )
        const uploads = yield* RecordingUploads
        return yield* uploads.append(interview, params.uploadId!, Number(header), raw ?? new Uint8Array(0)).pipe(
          Effect.map((upload) => ({
            ...json(200, state(upload, uploads.maxBytes)),
            headers: { "upload-offset": String(upload.received) }
          })),
          Effect.catchTag("RecordingRefused", refused)
        )
      })
  }),
  route({
    method: "post",
    path: "/v1/interviews/:id/recordings/:uploadId/complete",
    operationId: "completeRecordingUpload",
    summary:
      "Recorded mode: complete the upload; the recording is stored for the report and, where transcription is configured, its sound becomes the answer",
    tags: ["recordings"],
    access: "candidate",
    responses: {
      200: { description: "Stored (again, for a completed upload)", schema: CompletedRecording },
      ...errors,
      409: { description: "A part is missing", schema: ErrorBody }
    },
    handle: ({ params, headers }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!)
        const uploads = yield* RecordingUploads
        const completed = yield* uploads
          .complete(interview, params.uploadId!)
          .pipe(Effect.mapError((e) => new ApiError({ status: e.status, code: e.code, message: e.message })))
        const { upload, key } = completed
        const outcome = yield* answerFromRecording(interview, upload.questionId, completed.bytes)
        const [, kind, name] = key.split("/")
        return json(200, {
          uploadId: upload.id,
          questionId: upload.questionId,
          bytes: upload.received,
          url: `/v1/interviews/${interview.id}/media/${kind}/${name}`,
          transcription: { status: outcome.status, message: outcome.status === "stored" ? null : outcome.message },
          answer:
            outcome.status === "stored"
              ? {
                  answerId: outcome.answer.answerId,
                  questionId: outcome.answer.questionId,
                  source: outcome.answer.source,
                  text: outcome.answer.text,
                  scoring: "queued",
                  duplicate: outcome.answer.duplicate
                }
              : null
        })
      })
  })
]
