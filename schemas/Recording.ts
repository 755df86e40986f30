/** Wire types of recorded answers: the resumable upload of a recording and what completing it gives. */
import { Schema } from "effect"
import { SubmittedAnswer } from "./Report.ts"

export const StartRecordingQuery = Schema.Struct({
  questionId: Schema.String.check(Schema.isMaxLength(64, { message: "questionId must be at most 64 characters" })),
  contentType: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(200)).annotate({
      description: "The recording's media type (`video/webm` by default, or `video/mp4`); parameters are ignored."
    })
  ),
  size: Schema.optionalKey(
    Schema.FiniteFromString.check(Schema.isInt({ message: "size must be an integer" })).annotate({
      description: "The recording's size in bytes when known: a recording over the limit is refused at once."
    })
  )
}).annotate({ title: "StartRecordingQuery" })

export const RecordingUploadState = Schema.Struct({
  uploadId: Schema.String,
  questionId: Schema.String,
  offset: Schema.Int.annotate({ description: "Bytes received so far: the next part starts here." }),
  status: Schema.Literals(["uploading", "complete"]),
  maxBytes: Schema.Int,
  chunkBytes: Schema.Int
}).annotate({ title: "RecordingUploadState" })

export const RecordingOffsetMismatch = Schema.Struct({
  error: Schema.Struct({ code: Schema.String, message: Schema.String }),
  offset: Schema.Int.annotate({ description: "Where the upload stands: send the part from here." })
}).annotate({ title: "RecordingOffsetMismatch" })

export const CompletedRecording = Schema.Struct({
  uploadId: Schema.String,
  questionId: Schema.String,
  bytes: Schema.Int,
  url: Schema.String.annotate({ description: "The recording on the recruiter media route (cookie or API key)." }),
  transcription: Schema.Struct({
    status: Schema.Literals(["stored", "not_configured", "failed", "no_speech", "already_answered"]),
    message: Schema.NullOr(Schema.String)
  }).annotate({
    description:
      "`stored`: the recording's sound was transcribed and stored as the answer; otherwise the answer is typed."
  }),
  answer: Schema.NullOr(SubmittedAnswer)
}).annotate({ title: "CompletedRecording" })
