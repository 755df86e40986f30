/**
 * Answers that arrive over HTTP: text as given, audio after transcription. An answer is validated completely
 * (interview open, question of this interview, text non-empty and within the limit, audio transcribable) before
 * anything is written, and it is written in one statement together with its scoring job, so the caller's
 * acknowledgement always means "stored and queued for scoring".
 *
 * One answer per question, keyed like the live session's answers (`<interview id>:<question id>`): resending the
 * same answer is acknowledged again without a second row, a different one is refused.
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { InterviewRecord } from "../store/Interviews.ts"
import { toIso } from "../store/Rows.ts"
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
  { questionId: Schema.String, answerId: Schema.String },
  { httpApiStatus: 409 }
) {
  override get message(): string {
    return `question ${this.questionId} already has an answer (${this.answerId}); an answer cannot be replaced`
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

export interface StoredAnswer {
  readonly answerId: string
  readonly questionId: string
  readonly source: "text" | "audio"
  readonly text: string
  readonly createdAt: string
  /** True when this exact answer was already stored (a retried request). */
  readonly duplicate: boolean
}

export type IntakeError = UnknownQuestion | AlreadyAnswered | InterviewClosed | AnswerInputError | SqlError

export interface AnswerIntakeShape {
  readonly submitText: (
    interview: InterviewRecord,
    questionId: string,
    text: string
  ) => Effect.Effect<StoredAnswer, IntakeError>
  readonly submitAudio: (
    interview: InterviewRecord,
    questionId: string,
    audio: Uint8Array,
    contentType: string
  ) => Effect.Effect<StoredAnswer, IntakeError | TranscriptionError>
  /** Marks the interview finished (idempotent); false when it was abandoned. */
  readonly finish: (interview: InterviewRecord) => Effect.Effect<boolean, SqlError>
}

const closed = new Set(["finished", "abandoned"])

interface Transcription {
  readonly model: string
  readonly contentType: string
  readonly bytes: number
}

export const make = (config: Pick<AnswersConfig, "maxAnswerChars">) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
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

    const store = (
      interview: InterviewRecord,
      questionId: string,
      source: "text" | "audio",
      text: string,
      transcription: Transcription | null
    ): Effect.Effect<StoredAnswer, AlreadyAnswered | InterviewClosed | SqlError> =>
      Effect.gen(function* () {
        const key = `${interview.id}:${questionId}`
        // The status is checked in the insert itself, so an answer cannot slip in after the interview finished.
        const inserted = yield* sql`
          INSERT INTO answers (id, interview_id, question_id, source, body, idempotency_key, transcription)
          SELECT ${crypto.randomUUID()}, ${interview.id}, ${questionId}, ${source}, ${text}, ${key},
                 ${transcription === null ? null : JSON.stringify(transcription)}::jsonb
          WHERE EXISTS (SELECT 1 FROM interviews WHERE id = ${interview.id} AND status NOT IN ('finished', 'abandoned'))
          ON CONFLICT (idempotency_key) DO NOTHING
          RETURNING id, created_at`
        const row = inserted[0] as { id: string; created_at: unknown } | undefined
        if (row !== undefined) {
          yield* queue.wake
          return { answerId: row.id, questionId, source, text, createdAt: toIso(row.created_at), duplicate: false }
        }
        const existing =
          (yield* sql`SELECT id, body, source, created_at FROM answers WHERE idempotency_key = ${key}`)[0] as
            | { id: string; body: string; source: "text" | "audio"; created_at: unknown }
            | undefined
        if (existing === undefined) {
          const status = (yield* sql`SELECT status FROM interviews WHERE id = ${interview.id}`)[0] as
            | { status: string }
            | undefined
          return yield* new InterviewClosed({ interviewId: interview.id, status: status?.status ?? "erased" })
        }
        if (existing.body !== text) return yield* new AlreadyAnswered({ questionId, answerId: existing.id })
        return {
          answerId: existing.id,
          questionId,
          source: existing.source,
          text,
          createdAt: toIso(existing.created_at),
          duplicate: true
        }
      })

    const submitText: AnswerIntakeShape["submitText"] = (interview, questionId, text) =>
      checkOpen(interview, questionId).pipe(
        Effect.andThen(validateAnswerText(`${interview.id}:${questionId}`, text, config.maxAnswerChars)),
        Effect.flatMap((valid) => store(interview, questionId, "text", valid, null)),
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
        return yield* store(interview, questionId, "audio", text, {
          model: transcript.model,
          contentType: mediaType,
          bytes: audio.byteLength
        })
      }).pipe(Effect.withSpan("AnswerIntake.submitAudio", { attributes: { bytes: audio.byteLength } }))

    const finish: AnswerIntakeShape["finish"] = (interview) =>
      sql`
        UPDATE interviews SET status = 'finished', finished_at = COALESCE(finished_at, now())
        WHERE id = ${interview.id} AND status <> 'abandoned'
        RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.withSpan("AnswerIntake.finish")
      )

    return { submitText, submitAudio, finish } satisfies AnswerIntakeShape
  })

/** Stores answers submitted over HTTP; see the module notes. */
export class AnswerIntake extends Context.Service<AnswerIntake, AnswerIntakeShape>()("candor/answers/AnswerIntake") {
  static readonly layer = (config: Pick<AnswersConfig, "maxAnswerChars">) => Layer.effect(AnswerIntake, make(config))
}
