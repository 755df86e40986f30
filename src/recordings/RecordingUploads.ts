/**
 * Resumable uploads of answer recordings (recorded-mode interviews). The candidate page starts an upload for a
 * question, sends the recording in parts of at most `chunkBytes`, each at the offset the server says the upload
 * stands at (a part at any other offset is refused with that offset, so a client that lost its connection resumes
 * where the server is), then completes it. Parts wait in the media store under `<interview>/uploads/<upload>/` (so
 * they survive a restart and an erasure of the interview removes them with the rest); completing joins them into
 * `<interview>/recordings/<question>.<ext>` (a WebM rewritten with its duration and seek index, which browsers'
 * recorders leave out and the report's player needs), indexes it for the report and deletes the parts.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { AppConfig } from "../config.ts"
import type { InterviewRecord } from "../store/Interviews.ts"
import { MediaStore } from "../store/MediaStore.ts"
import { type RecordingUpload, Recordings } from "../store/Recordings.ts"
import { indexWebm } from "./RecordingMedia.ts"

/** Recording containers the page may send, with the extension of the stored object. */
export const recordingTypes: ReadonlyMap<string, string> = new Map([
  ["video/webm", "webm"],
  ["video/mp4", "mp4"]
])

/** Largest part of one request (the route's body limit). */
export const chunkBytes = 4 * 1024 * 1024

/** An upload request that is refused; carries its HTTP status, and the upload's offset where that helps. */
export class RecordingRefused extends Schema.TaggedError<RecordingRefused>()("RecordingRefused", {
  status: Schema.Number,
  code: Schema.String,
  message: Schema.String,
  offset: Schema.optionalKey(Schema.Number)
}) {}

export interface CompletedRecording {
  readonly upload: RecordingUpload
  readonly key: string
  readonly bytes: Uint8Array
}

export interface RecordingUploadsShape {
  readonly maxBytes: number
  readonly start: (
    interview: InterviewRecord,
    questionId: string,
    contentType: string,
    declaredBytes: number | undefined
  ) => Effect.Effect<RecordingUpload, RecordingRefused>
  readonly status: (interview: InterviewRecord, uploadId: string) => Effect.Effect<RecordingUpload, RecordingRefused>
  readonly append: (
    interview: InterviewRecord,
    uploadId: string,
    offset: number,
    part: Uint8Array
  ) => Effect.Effect<RecordingUpload, RecordingRefused>
  /** Joins the parts into the recording; completing a completed upload returns the same recording. */
  readonly complete: (
    interview: InterviewRecord,
    uploadId: string
  ) => Effect.Effect<CompletedRecording, RecordingRefused>
}

const unavailable = (what: string) => () =>
  new RecordingRefused({ status: 503, code: "unavailable", message: `${what} unavailable; retry shortly` })

const tooLarge = (limit: number) =>
  new RecordingRefused({
    status: 413,
    code: "recording_too_large",
    message: `the recording is larger than the limit of ${Math.floor(limit / (1024 * 1024))} MB (${limit} bytes); record a shorter answer`
  })

const partKey = (upload: RecordingUpload, offset: number, length: number) =>
  `${upload.interviewId}/uploads/${upload.id}/${String(offset).padStart(10, "0")}-${length}`

export const recordingKey = (interviewId: string, questionId: string, contentType: string) =>
  `${interviewId}/recordings/${questionId}.${recordingTypes.get(contentType) ?? "webm"}`

export const make = Effect.gen(function* () {
  const config = yield* AppConfig
  const media = yield* MediaStore
  const repo = yield* Recordings
  const maxBytes = config.recordingMaxBytes

  const find = (interview: InterviewRecord, uploadId: string) =>
    repo.get(interview.id, uploadId).pipe(
      Effect.mapError(unavailable("database")),
      Effect.flatMap(
        Option.match({
          onNone: () =>
            Effect.fail(new RecordingRefused({ status: 404, code: "not_found", message: "upload not found" })),
          onSome: Effect.succeed
        })
      )
    )

  const mismatch = (upload: RecordingUpload, offset: number) =>
    new RecordingRefused({
      status: 409,
      code: "offset_mismatch",
      message: `the upload stands at byte ${upload.received}, not ${offset}; send the part from there`,
      offset: upload.received
    })

  const start: RecordingUploadsShape["start"] = (interview, questionId, contentType, declaredBytes) =>
    Effect.gen(function* () {
      if (interview.mode !== "recorded")
        return yield* new RecordingRefused({
          status: 409,
          code: "not_recorded",
          message: "this interview is not in recorded mode; it takes no recordings"
        })
      if (interview.status === "finished" || interview.status === "abandoned")
        return yield* new RecordingRefused({
          status: 409,
          code: "interview_closed",
          message: `the interview is ${interview.status}; it takes no more recordings`
        })
      if (!interview.questions.some((q) => q.id === questionId))
        return yield* new RecordingRefused({
          status: 400,
          code: "unknown_question",
          message: `question ${questionId} is not part of this interview`
        })
      if (!recordingTypes.has(contentType))
        return yield* new RecordingRefused({
          status: 415,
          code: "unsupported_media_type",
          message: `a recording is one of: ${[...recordingTypes.keys()].join(", ")} (got ${contentType || "none"})`
        })
      if (declaredBytes !== undefined && declaredBytes > maxBytes) return yield* tooLarge(maxBytes)
      const standing = yield* repo
        .consent(interview.tenantId, interview.id)
        .pipe(Effect.mapError(unavailable("database")))
      const recording = standing.decisions.filter((d) => d.kind === "recording").at(-1)
      if (recording?.granted !== true || recording.noticeVersion !== standing.noticeVersion)
        return yield* new RecordingRefused({
          status: 403,
          code: "consent_required",
          message: "the candidate has not consented to recording on the current notice; nothing is recorded"
        })
      const done = yield* repo.completedFor(interview.id, questionId).pipe(Effect.mapError(unavailable("database")))
      if (Option.isSome(done))
        return yield* new RecordingRefused({
          status: 409,
          code: "already_recorded",
          message: "this question already has a recording; a recording cannot be replaced"
        })
      return yield* repo.create(interview.id, questionId, contentType).pipe(Effect.mapError(unavailable("database")))
    }).pipe(Effect.withSpan("RecordingUploads.start"))

  const append: RecordingUploadsShape["append"] = (interview, uploadId, offset, part) =>
    Effect.gen(function* () {
      const upload = yield* find(interview, uploadId)
      if (upload.status === "complete")
        return yield* new RecordingRefused({
          status: 409,
          code: "upload_complete",
          message: "the upload is already complete",
          offset: upload.received
        })
      if (offset !== upload.received) return yield* mismatch(upload, offset)
      if (part.byteLength === 0) return upload
      if (upload.received + part.byteLength > maxBytes) return yield* tooLarge(maxBytes)
      yield* media
        .put(partKey(upload, offset, part.byteLength), part, "application/octet-stream")
        .pipe(Effect.mapError(unavailable("media store")))
      const advanced = yield* repo
        .advance(upload.id, offset, part.byteLength)
        .pipe(Effect.mapError(unavailable("database")))
      if (Option.isSome(advanced)) return advanced.value
      // Another request for the same offset got there first: say where the upload stands now.
      return yield* mismatch(yield* find(interview, uploadId), offset)
    }).pipe(Effect.withSpan("RecordingUploads.append", { attributes: { bytes: part.byteLength } }))

  const read = (key: string) =>
    media.get(key).pipe(
      Effect.mapError(unavailable("media store")),
      Effect.flatMap(
        Option.match({
          onNone: () =>
            Effect.fail(
              new RecordingRefused({ status: 409, code: "upload_incomplete", message: `a part is missing (${key})` })
            ),
          onSome: (o) => Effect.succeed(o.bytes)
        })
      )
    )

  const complete: RecordingUploadsShape["complete"] = (interview, uploadId) =>
    Effect.gen(function* () {
      const upload = yield* find(interview, uploadId)
      if (upload.status === "complete" && upload.mediaKey !== null)
        return { upload, key: upload.mediaKey, bytes: yield* read(upload.mediaKey) }
      if (upload.received === 0)
        return yield* new RecordingRefused({
          status: 400,
          code: "empty_recording",
          message: "nothing was uploaded; send the recording's bytes first",
          offset: 0
        })
      const parts: Array<Uint8Array> = []
      let offset = 0
      for (const length of upload.parts) {
        parts.push(yield* read(partKey(upload, offset, length)))
        offset += length
      }
      const joined = new Uint8Array(Buffer.concat(parts, offset))
      // Without a seek index the recording still plays, so a recording ffmpeg cannot rewrite is kept as it came.
      const bytes =
        upload.contentType === "video/webm"
          ? yield* indexWebm(joined).pipe(
              Effect.tapError((e) => Effect.logWarning("recording kept without a seek index", e.message)),
              Effect.orElseSucceed(() => joined)
            )
          : joined
      const key = recordingKey(interview.id, upload.questionId, upload.contentType)
      yield* media.put(key, bytes, upload.contentType).pipe(Effect.mapError(unavailable("media store")))
      const completed = yield* repo
        .complete(upload, key, bytes.byteLength, { questionId: upload.questionId, uploadId: upload.id })
        .pipe(Effect.mapError(unavailable("database")))
      // The recording is stored and indexed: its parts are no longer needed (a failure here leaves only garbage
      // under the interview's prefix, which its erasure removes).
      yield* media.deletePrefix(`${interview.id}/uploads/${upload.id}/`).pipe(Effect.ignore)
      return { upload: completed, key, bytes }
    }).pipe(Effect.withSpan("RecordingUploads.complete"))

  return {
    maxBytes,
    start,
    status: find,
    append,
    complete
  } satisfies RecordingUploadsShape
})

/** Resumable recording uploads; see the module notes. */
export class RecordingUploads extends Context.Service<RecordingUploads, RecordingUploadsShape>()(
  "candor/recordings/RecordingUploads"
) {
  static readonly layer = Layer.effect(RecordingUploads, make).pipe(Layer.provide(Recordings.layer))
}
