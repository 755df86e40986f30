/**
 * Answers that arrive over HTTP: text as given, audio after transcription. An answer is validated completely (text
 * non-empty and within the limit, audio transcribable) before it is handed to the interview's session actor, which
 * is the only writer of the interview's answers: it refuses an answer to an unknown question, a different answer
 * to an answered question, or any answer once the interview is finished, and acknowledges only after the answer
 * (and with it its scoring job, see migration 0003) is committed. A live socket sees the answer as `answerSaved`.
 *
 * One answer per question, keyed like the socket's answers (`<interview id>:<question id>`): resending the same
 * answer is acknowledged again without a second row, a different one is refused (`already_answered`).
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { ServerMessage } from "../../schemas/Protocol.ts"
import type { CommandOutcome } from "../actors/CommitQueue.ts"
import type { SubmittedAnswer } from "../actors/Answers.ts"
import { SessionRegistry, SessionUnavailable } from "../actors/SessionRegistry.ts"
import type { InterviewRecord } from "../store/Interviews.ts"
import type { AnswerInputError, TranscriptionError } from "./AnswerErrors.ts"
import type { AnswersConfig } from "./AnswersConfig.ts"
import { validateAnswerText } from "./AnswerText.ts"
import { ScoringQueue } from "./ScoringQueue.ts"
import { Transcriber } from "./Transcriber.ts"

/** The question is not one of this interview's. */
export class UnknownQuestion extends Schema.TaggedError<UnknownQuestion>()(
  "UnknownQuestion",
  { interviewId: Schema.String, questionId: Schema.String },
  { httpApiStatus: 400 }
) {
  override get message(): string {
    return `question ${this.questionId} is not part of interview ${this.interviewId}`
  }
}

/** The question already has a different answer. */
export class AlreadyAnswered extends Schema.TaggedError<AlreadyAnswered>()(
  "AlreadyAnswered",
  { questionId: Schema.String },
  { httpApiStatus: 409 }
) {
  override get message(): string {
    return `question ${this.questionId} already has a different answer; an answer cannot be replaced`
  }
}

/** The interview is finished or abandoned. */
export class InterviewClosed extends Schema.TaggedError<InterviewClosed>()(
  "InterviewClosed",
  { interviewId: Schema.String, status: Schema.String },
  { httpApiStatus: 409 }
) {
  override get message(): string {
    return `interview ${this.interviewId} is ${this.status}; it takes no more answers`
  }
}

/** The candidate has not consented to data processing on the tenant's current notice (or withdrew it). */
export class ConsentRequired extends Schema.TaggedError<ConsentRequired>()(
  "ConsentRequired",
  { interviewId: Schema.String },
  { httpApiStatus: 403 }
) {
  override get message(): string {
    return `no consent to data processing is recorded for interview ${this.interviewId} on the current notice; record it (POST /v1/interviews/${this.interviewId}/consents) before answering`
  }
}

export interface StoredAnswer {
  readonly answerId: string
  readonly questionId: string
  readonly source: "text" | "audio"
  readonly text: string
  /** True when this exact answer was already stored (a retried request). */
  readonly duplicate: boolean
}

export type IntakeError =
  | UnknownQuestion
  | AlreadyAnswered
  | InterviewClosed
  | ConsentRequired
  | AnswerInputError
  | SessionUnavailable

/** Needed at call time: the interview's actor. */
export type IntakeContext = SessionRegistry

export interface AnswerIntakeShape {
  readonly submitText: (
    interview: InterviewRecord,
    questionId: string,
    text: string
  ) => Effect.Effect<StoredAnswer, IntakeError, IntakeContext>
  readonly submitAudio: (
    interview: InterviewRecord,
    questionId: string,
    audio: Uint8Array,
    contentType: string
  ) => Effect.Effect<StoredAnswer, IntakeError | TranscriptionError, IntakeContext>
  /** Finishes the interview through its actor (idempotent); returns the report's URL. */
  readonly finish: (interview: InterviewRecord) => Effect.Effect<string, IntakeError, IntakeContext>
}

const closed = new Set(["finished", "abandoned"])

/** Asks the interview's actor; a refusal it answers becomes the matching typed error. */
const ask = (interview: InterviewRecord, command: SubmittedAnswer | { readonly _tag: "finish" }) =>
  Effect.gen(function* () {
    const registry = yield* SessionRegistry
    const outcome: CommandOutcome = yield* registry.ask(interview, command)
    const first: ServerMessage | undefined = outcome.messages[0]
    if (first?._tag !== "error") return { first, committed: outcome.committed }
    const questionId = command._tag === "submitAnswer" ? command.questionId : ""
    switch (first.code) {
      case "unknown_question":
        return yield* new UnknownQuestion({ interviewId: interview.id, questionId })
      case "already_answered":
        return yield* new AlreadyAnswered({ questionId })
      case "finished":
        return yield* new InterviewClosed({ interviewId: interview.id, status: "finished" })
      case "consent_required":
        return yield* new ConsentRequired({ interviewId: interview.id })
      case "erased":
        return yield* new SessionUnavailable({ interviewId: interview.id, message: first.message, reason: "gone" })
      default:
        return yield* new SessionUnavailable({ interviewId: interview.id, message: first.message, reason: "busy" })
    }
  })

export const make = (config: Pick<AnswersConfig, "maxAnswerChars">) =>
  Effect.gen(function* () {
    const transcriber = yield* Transcriber
    const queue = yield* ScoringQueue

    const checkOpen = (
      interview: InterviewRecord,
      questionId: string
    ): Effect.Effect<void, InterviewClosed | UnknownQuestion> => {
      if (closed.has(interview.status)) {
        return Effect.fail(new InterviewClosed({ interviewId: interview.id, status: interview.status }))
      }
      if (!interview.questions.some((q) => q.id === questionId)) {
        return Effect.fail(new UnknownQuestion({ interviewId: interview.id, questionId }))
      }
      return Effect.void
    }

    const store = (interview: InterviewRecord, answer: SubmittedAnswer) =>
      Effect.gen(function* () {
        const { first, committed } = yield* ask(interview, answer)
        if (first?._tag !== "answerSaved") return yield* Effect.die(new Error(`unexpected outcome ${first?._tag}`))
        if (committed) yield* queue.wake
        return {
          answerId: first.answerId,
          questionId: answer.questionId,
          source: answer.source,
          text: answer.text,
          duplicate: !committed
        } satisfies StoredAnswer
      })

    const submitText: AnswerIntakeShape["submitText"] = (interview, questionId, text) =>
      checkOpen(interview, questionId).pipe(
        Effect.andThen(validateAnswerText(`${interview.id}:${questionId}`, text, config.maxAnswerChars)),
        Effect.flatMap((valid) =>
          store(interview, { _tag: "submitAnswer", questionId, text: valid, source: "text", transcription: null })
        ),
        Effect.withSpan("AnswerIntake.submitText")
      )

    const submitAudio: AnswerIntakeShape["submitAudio"] = (interview, questionId, audio, contentType) =>
      Effect.gen(function* () {
        yield* checkOpen(interview, questionId)
        const transcript = yield* transcriber.transcribe(audio, contentType)
        // Postgres text cannot hold NUL; a transcript has no business carrying one.
        const text = yield* validateAnswerText(
          `${interview.id}:${questionId}`,
          transcript.text.replaceAll("\u0000", ""),
          config.maxAnswerChars
        )
        const mediaType = contentType.split(";")[0]!.trim().toLowerCase()
        return yield* store(interview, {
          _tag: "submitAnswer",
          questionId,
          text,
          source: "audio",
          transcription: { model: transcript.model, contentType: mediaType, bytes: audio.byteLength }
        })
      }).pipe(Effect.withSpan("AnswerIntake.submitAudio", { attributes: { bytes: audio.byteLength } }))

    const finish: AnswerIntakeShape["finish"] = (interview) =>
      Effect.gen(function* () {
        if (interview.status === "abandoned")
          return yield* new InterviewClosed({ interviewId: interview.id, status: interview.status })
        const { first } = yield* ask(interview, { _tag: "finish" })
        if (first?._tag !== "finished") return yield* Effect.die(new Error(`unexpected outcome ${first?._tag}`))
        return first.reportUrl
      }).pipe(Effect.withSpan("AnswerIntake.finish"))

    return { submitText, submitAudio, finish } satisfies AnswerIntakeShape
  })

/** Stores answers submitted over HTTP; see the module notes. */
export class AnswerIntake extends Context.Service<AnswerIntake, AnswerIntakeShape>()("candor/answers/AnswerIntake") {
  static readonly layer = (config: Pick<AnswersConfig, "maxAnswerChars">) => Layer.effect(AnswerIntake, make(config))
}
