/**
 * Candidate routes for answering over HTTP (besides the WebSocket): a text answer, a spoken answer (raw audio
 * body, transcribed), and finishing the interview. They authenticate with the candidate's join token
 * (`Authorization: Bearer <token>`), which names one interview of one tenant.
 */
import { Effect, Option } from "effect"
import { AudioAnswerQuery, FinishedInterview, SubmitAnswerRequest, SubmittedAnswer } from "../../../schemas/Report.ts"
import { ErrorBody } from "../../../schemas/Api.ts"
import type { AnswerInputError, TranscriptionError } from "../../answers/AnswerErrors.ts"
import { AnswerIntake, type IntakeError, type StoredAnswer } from "../../answers/AnswerIntake.ts"
import { defaults } from "../../answers/AnswersConfig.ts"
import { acceptedAudioTypes } from "../../answers/Transcriber.ts"
import { Interviews, type InterviewRecord } from "../../store/Interviews.ts"
import { ApiError } from "../ApiError.ts"
import { JoinTokens } from "../JoinTokens.ts"
import { bearerToken, json, route } from "../Route.ts"

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

const candidateAuth = "send the candidate join token as 'Authorization: Bearer <token>'"

/** The interview the bearer's join token is for, which must be the one in the path. */
export const candidateInterview = (
  headers: Readonly<Record<string, string>>,
  interviewId: string
): Effect.Effect<InterviewRecord, ApiError, JoinTokens | Interviews> =>
  Effect.gen(function* () {
    const token = bearerToken(headers)
    if (token.length === 0) return yield* ApiError.unauthorized(candidateAuth)
    const claims = yield* Effect.flatMap(JoinTokens, (t) => t.verify(token))
    if (Option.isNone(claims))
      return yield* ApiError.unauthorized(`invalid or expired candidate token; ${candidateAuth}`)
    if (claims.value.interviewId !== interviewId) return yield* ApiError.forbidden("the token is for another interview")
    const interview = yield* Effect.flatMap(Interviews, (repo) => repo.get(claims.value.tenantId, interviewId)).pipe(
      Effect.mapError(dbUnavailable)
    )
    if (Option.isNone(interview)) return yield* ApiError.notFound("interview")
    return interview.value
  })

const inputError = (e: AnswerInputError, spoken: boolean): ApiError => {
  switch (e._tag) {
    case "EmptyAnswer":
      return ApiError.badRequest(
        spoken ? "no speech was recognised in the recording" : "the answer text is empty",
        "empty_answer"
      )
    case "AnswerTooLong":
      return new ApiError({
        status: 413,
        code: "answer_too_long",
        message: `the answer has ${e.length} characters; the limit is ${e.limit}`
      })
    case "InvalidAnswerEncoding":
      return ApiError.badRequest(e.message, "invalid_encoding")
  }
}

/** Maps intake and transcription failures to API errors; nothing was stored when any of them happens. */
const intakeError =
  (spoken: boolean) =>
  (e: IntakeError | TranscriptionError): ApiError => {
    switch (e._tag) {
      case "UnknownQuestion":
        return ApiError.badRequest(e.message, "unknown_question")
      case "AlreadyAnswered":
        return new ApiError({ status: 409, code: "already_answered", message: e.message })
      case "InterviewClosed":
        return new ApiError({ status: 409, code: "interview_closed", message: e.message })
      case "ConsentRequired":
        return new ApiError({ status: 403, code: "consent_required", message: e.message })
      case "EmptyAnswer":
      case "AnswerTooLong":
      case "InvalidAnswerEncoding":
        return inputError(e, spoken)
      case "TranscriptionUnavailable":
        return new ApiError({ status: 503, code: "transcription_unavailable", message: e.message })
      case "UnsupportedAudio":
        return new ApiError({ status: 415, code: "unsupported_media_type", message: e.message })
      case "AudioTooLarge":
        return new ApiError({ status: 413, code: "payload_too_large", message: e.message })
      case "EmptyAudio":
        return ApiError.badRequest("the recording is empty", "empty_audio")
      case "AllKeysUnavailable":
      case "DeadlineExceeded":
      case "OpenAiRequestFailed":
        return new ApiError({
          status: 503,
          code: "transcription_failed",
          message: `transcription failed, nothing was stored; retry shortly (${e.message})`
        })
      case "SessionUnavailable":
        return e.reason === "gone"
          ? ApiError.notFound("interview")
          : ApiError.unavailable(`${e.message}; retry shortly`)
    }
  }

const submitted = (a: StoredAnswer) =>
  json(a.duplicate ? 200 : 201, {
    answerId: a.answerId,
    questionId: a.questionId,
    source: a.source,
    text: a.text,
    scoring: "queued",
    duplicate: a.duplicate
  })

const errors = {
  401: { description: "Missing, invalid or expired candidate token", schema: ErrorBody },
  403: {
    description: "The token is for another interview, or no consent to data processing is recorded (consent_required)",
    schema: ErrorBody
  },
  409: { description: "The question already has another answer, or the interview is over", schema: ErrorBody }
}

export const answerRoutes = [
  route({
    method: "post",
    path: "/v1/interviews/:id/answers",
    operationId: "submitAnswer",
    summary: "Answer a question in text (candidate join token as bearer)",
    tags: ["answers"],
    access: "candidate",
    body: SubmitAnswerRequest,
    responses: {
      201: { description: "Stored and queued for scoring", schema: SubmittedAnswer },
      200: { description: "The same answer was already stored (a retried request)", schema: SubmittedAnswer },
      ...errors
    },
    handle: ({ params, headers, body }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!)
        const intake = yield* AnswerIntake
        const stored = yield* intake
          .submitText(interview, body.questionId, body.text)
          .pipe(Effect.mapError(intakeError(false)))
        return submitted(stored)
      })
  }),
  route({
    method: "post",
    path: "/v1/interviews/:id/answers/audio",
    operationId: "submitAudioAnswer",
    summary: `Answer a question by voice: the raw recording as the body (${acceptedAudioTypes.join(", ")}), transcribed before it is stored`,
    tags: ["answers"],
    access: "candidate",
    query: AudioAnswerQuery,
    rawBody: { maxBytes: defaults.maxAudioBytes, contentTypes: acceptedAudioTypes },
    responses: {
      201: { description: "Transcribed, stored and queued for scoring", schema: SubmittedAnswer },
      200: { description: "The same transcript was already stored", schema: SubmittedAnswer },
      ...errors,
      503: { description: "Transcription is not configured or failed (nothing stored)", schema: ErrorBody }
    },
    handle: ({ params, headers, query, raw }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!)
        const intake = yield* AnswerIntake
        const stored = yield* intake
          .submitAudio(interview, query.questionId, raw ?? new Uint8Array(0), headers["content-type"] ?? "")
          .pipe(Effect.mapError(intakeError(true)))
        return submitted(stored)
      })
  }),
  route({
    method: "post",
    path: "/v1/interviews/:id/finish",
    operationId: "finishInterview",
    summary: "Finish the interview (candidate join token as bearer); the report is built from then on",
    tags: ["answers"],
    access: "candidate",
    responses: {
      200: { description: "Finished", schema: FinishedInterview },
      ...errors
    },
    handle: ({ params, headers }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!)
        const intake = yield* AnswerIntake
        const reportUrl = yield* intake.finish(interview).pipe(Effect.mapError(intakeError(false)))
        return json(200, { status: "finished", reportUrl })
      })
  })
]
