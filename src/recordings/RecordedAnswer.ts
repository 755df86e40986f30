/**
 * A completed recording becomes the question's answer where transcription is configured: ffmpeg takes its sound,
 * the transcriber turns it into text and the answer goes through `AnswerIntake` like any spoken answer (so the
 * interview's actor stays the only writer, and it is scored like a typed one). The recording itself is kept
 * whatever happens here; when no answer comes of it the candidate types the answer instead.
 */
import { Effect } from "effect"
import { AnswerIntake, type StoredAnswer } from "../answers/AnswerIntake.ts"
import { Transcriber } from "../answers/Transcriber.ts"
import type { InterviewRecord } from "../store/Interviews.ts"
import { extractAudio } from "./RecordingMedia.ts"

export type TranscriptionOutcome =
  | { readonly status: "stored"; readonly answer: StoredAnswer }
  | { readonly status: "not_configured" | "failed" | "no_speech" | "already_answered"; readonly message: string }

/** Transcribes `recording` into the answer to `questionId`; never fails, the outcome says what happened. */
export const answerFromRecording = (interview: InterviewRecord, questionId: string, recording: Uint8Array) =>
  Effect.gen(function* () {
    const transcriber = yield* Transcriber
    if (!transcriber.available)
      return {
        status: "not_configured",
        message: "transcription is not configured; type the answer"
      } satisfies TranscriptionOutcome
    const intake = yield* AnswerIntake
    return yield* extractAudio(recording).pipe(
      Effect.flatMap((audio) => intake.submitAudio(interview, questionId, audio, "audio/webm")),
      Effect.map((answer): TranscriptionOutcome => ({ status: "stored", answer })),
      Effect.catch((e): Effect.Effect<TranscriptionOutcome> => {
        switch (e._tag) {
          case "EmptyAnswer":
            return Effect.succeed({ status: "no_speech", message: "no speech was recognised in the recording" })
          case "AlreadyAnswered":
            return Effect.succeed({ status: "already_answered", message: e.message })
          default:
            return Effect.logWarning("recorded answer not transcribed", e.message).pipe(
              Effect.as({ status: "failed", message: `the recording was not transcribed: ${e.message}` } as const)
            )
        }
      })
    )
  }).pipe(Effect.withSpan("RecordedAnswer.fromRecording"))
