/**
 * Typed failures of answer scoring and transcription. Each carries the HTTP
 * status it maps to (`httpApiStatus`) and a message a caller can show as is.
 */
import { Schema } from "effect"

/** The answer text is empty or only whitespace. */
export class EmptyAnswer extends Schema.TaggedError<EmptyAnswer>()(
  "EmptyAnswer",
  { answerId: Schema.String },
  { httpApiStatus: 400 }
) {
  override get message(): string {
    return `answer ${this.answerId} is empty`
  }
}

/** The answer text exceeds the configured character limit. */
export class AnswerTooLong extends Schema.TaggedError<AnswerTooLong>()(
  "AnswerTooLong",
  { answerId: Schema.String, length: Schema.Number, limit: Schema.Number },
  { httpApiStatus: 413 }
) {
  override get message(): string {
    return `answer ${this.answerId} has ${this.length} characters; the limit is ${this.limit}`
  }
}

/** The answer bytes are not valid UTF-8. */
export class InvalidAnswerEncoding extends Schema.TaggedError<InvalidAnswerEncoding>()(
  "InvalidAnswerEncoding",
  { byteLength: Schema.Number },
  { httpApiStatus: 400 }
) {
  override get message(): string {
    return `answer text is not valid UTF-8 (${this.byteLength} bytes)`
  }
}

/**
 * No API key can take a request before the deadline: every key is revoked, or
 * cooling down past the deadline. The answer is not scored; the caller keeps it
 * and may retry after `retryAfterMs`.
 */
export class AllKeysUnavailable extends Schema.TaggedError<AllKeysUnavailable>()(
  "AllKeysUnavailable",
  {
    keys: Schema.Number,
    disabled: Schema.Number,
    retryAfterMs: Schema.optionalKey(Schema.Number)
  },
  { httpApiStatus: 503 }
) {
  override get message(): string {
    if (this.keys === 0) return "no OpenAI API key is configured"
    if (this.disabled === this.keys) return `all ${this.keys} OpenAI API keys were rejected (401/403) and are disabled`
    const wait = this.retryAfterMs === undefined ? "" : `; the first one is free again in ${this.retryAfterMs} ms`
    return `all usable OpenAI API keys are cooling down past the deadline (${this.disabled} of ${this.keys} disabled)${wait}`
  }
}

/** Scoring (or transcription) did not finish within its deadline; retries were cut short. */
export class DeadlineExceeded extends Schema.TaggedError<DeadlineExceeded>()(
  "DeadlineExceeded",
  { budgetMs: Schema.Number, attempts: Schema.Number, lastError: Schema.String },
  { httpApiStatus: 504 }
) {
  override get message(): string {
    return `no OpenAI reply within ${this.budgetMs} ms after ${this.attempts} attempts (last error: ${this.lastError})`
  }
}

/** The OpenAI API refused the request for a reason retrying cannot fix, or retries ran out. */
export class OpenAiRequestFailed extends Schema.TaggedError<OpenAiRequestFailed>()(
  "OpenAiRequestFailed",
  { status: Schema.optionalKey(Schema.Number), attempts: Schema.Number, reason: Schema.String },
  { httpApiStatus: 502 }
) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `OpenAI request failed${status} after ${this.attempts} attempts: ${this.reason}`
  }
}

/** Every sample's reply was unusable (not JSON, or not matching the grading schema) after retries. */
export class ModelOutputInvalid extends Schema.TaggedError<ModelOutputInvalid>()(
  "ModelOutputInvalid",
  { answerId: Schema.String, attempts: Schema.Number, reason: Schema.String },
  { httpApiStatus: 502 }
) {
  override get message(): string {
    return `the model returned no usable grading for answer ${this.answerId} in ${this.attempts} attempts: ${this.reason}`
  }
}

/** Failures of the key pool shared by scoring and transcription. */
export type OpenAiCallError = AllKeysUnavailable | DeadlineExceeded | OpenAiRequestFailed

/** Problems with the answer itself (the caller's input). */
export type AnswerInputError = EmptyAnswer | AnswerTooLong | InvalidAnswerEncoding

/** Everything `AnswerScorer.score` can fail with. */
export type AnswerScoringError = EmptyAnswer | AnswerTooLong | OpenAiCallError | ModelOutputInvalid

/** Transcription needs an API key and none is configured. */
export class TranscriptionUnavailable extends Schema.TaggedError<TranscriptionUnavailable>()(
  "TranscriptionUnavailable",
  {},
  { httpApiStatus: 503 }
) {
  override get message(): string {
    return "audio answers need transcription, which needs OPENAI_API_KEYS; submit the answer as text instead"
  }
}

/** The audio's content type is not one we accept. */
export class UnsupportedAudio extends Schema.TaggedError<UnsupportedAudio>()(
  "UnsupportedAudio",
  { contentType: Schema.String, accepted: Schema.Array(Schema.String) },
  { httpApiStatus: 415 }
) {
  override get message(): string {
    return `unsupported audio type "${this.contentType}"; accepted: ${this.accepted.join(", ")}`
  }
}

/** The audio is empty or larger than the configured limit. */
export class AudioTooLarge extends Schema.TaggedError<AudioTooLarge>()(
  "AudioTooLarge",
  { byteLength: Schema.Number, limit: Schema.Number },
  { httpApiStatus: 413 }
) {
  override get message(): string {
    return `audio of ${this.byteLength} bytes exceeds the limit of ${this.limit} bytes`
  }
}

/** The audio has no bytes at all. */
export class EmptyAudio extends Schema.TaggedError<EmptyAudio>()("EmptyAudio", {}, { httpApiStatus: 400 }) {
  override get message(): string {
    return "audio is empty"
  }
}

/** Everything `Transcriber.transcribe` can fail with. */
export type TranscriptionError =
  | TranscriptionUnavailable
  | UnsupportedAudio
  | AudioTooLarge
  | EmptyAudio
  | OpenAiCallError
