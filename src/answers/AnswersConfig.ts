/**
 * Settings of answer scoring and transcription. Plain data with defaults; the
 * environment is read in one place (`answersConfigFromEnv`) so the application
 * config can fold it in later.
 */
import { Config, Effect, Option, Redacted, Schema } from "effect"

export interface AnswersConfig {
  /** OpenAI API keys; none means offline scoring and no transcription. */
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
  /** Alternative API endpoint (an OpenAI-compatible server), e.g. `http://127.0.0.1:8000/v1`. */
  readonly baseUrl?: string | undefined
  readonly model: string
  readonly transcriptionModel: string
  readonly temperature: number
  /** Independent gradings per answer; their mean and spread are reported. */
  readonly samples: number
  /** Timeout of one HTTP request to the API. */
  readonly requestTimeoutMs: number
  /** Everything for one answer (all samples and retries) must finish within this. */
  readonly perAnswerDeadlineMs: number
  /** Base cooldown of a key after a 429 without `Retry-After`; doubles on repeats. */
  readonly cooldownMs: number
  /** Retries of 5xx, timeouts and connection errors per request (429s and revoked keys rotate instead). */
  readonly maxRetries: number
  /** Base delay of the exponential backoff between retries. */
  readonly backoffBaseMs: number
  /** Upper bound of one backoff or cooldown. */
  readonly backoffMaxMs: number
  /** Retries of a sample whose reply is not valid JSON or does not match the grading schema. */
  readonly maxInvalidReplies: number
  readonly maxAnswerChars: number
  readonly maxAudioBytes: number
  /** Timeout of one transcription request (uploads of long recordings take a while). */
  readonly transcriptionTimeoutMs: number
}

export const defaults: Omit<AnswersConfig, "apiKeys"> = {
  model: "gpt-4o-mini",
  transcriptionModel: "whisper-1",
  temperature: 0.2,
  samples: 3,
  requestTimeoutMs: 30_000,
  perAnswerDeadlineMs: 120_000,
  cooldownMs: 5_000,
  maxRetries: 3,
  backoffBaseMs: 500,
  backoffMaxMs: 60_000,
  maxInvalidReplies: 2,
  maxAnswerChars: 20_000,
  maxAudioBytes: 25 * 1024 * 1024,
  transcriptionTimeoutMs: 90_000
}

/** More gradings than this cost money without changing the mean noticeably. */
export const maxSamples = 10

/** Completes partial settings with the defaults; throws on a sample count outside 1..maxSamples. */
export const makeAnswersConfig = (partial: Partial<AnswersConfig> & Pick<AnswersConfig, "apiKeys">): AnswersConfig => {
  const config = { ...defaults, ...partial }
  if (!Number.isInteger(config.samples) || config.samples < 1 || config.samples > maxSamples) {
    throw new RangeError(`answer samples must be an integer from 1 to ${maxSamples}, got ${config.samples}`)
  }
  return config
}

/** Splits `OPENAI_API_KEYS` (comma-separated; blanks and duplicates ignored) into redacted keys. */
export const parseApiKeys = (raw: string): ReadonlyArray<Redacted.Redacted<string>> =>
  [...new Set(raw.split(",").map((k) => k.trim()))].filter((k) => k.length > 0).map((k) => Redacted.make(k))

/**
 * Reads OPENAI_API_KEYS (redacted), OPENAI_BASE_URL, OPENAI_MODEL,
 * OPENAI_TRANSCRIPTION_MODEL, OPENAI_TEMPERATURE and ANSWER_SAMPLES.
 */
export const answersConfigFromEnv: Effect.Effect<AnswersConfig, Config.ConfigError> = Effect.gen(function* () {
  const keys = yield* Config.option(Config.Redacted("OPENAI_API_KEYS"))
  const baseUrl = yield* Config.option(Config.String("OPENAI_BASE_URL"))
  const model = yield* Config.String("OPENAI_MODEL").pipe(Config.withDefault(defaults.model))
  const transcriptionModel = yield* Config.String("OPENAI_TRANSCRIPTION_MODEL").pipe(
    Config.withDefault(defaults.transcriptionModel)
  )
  const temperature = yield* Config.schema(
    Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 })),
    "OPENAI_TEMPERATURE"
  ).pipe(Config.withDefault(defaults.temperature))
  const samples = yield* Config.schema(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxSamples })),
    "ANSWER_SAMPLES"
  ).pipe(Config.withDefault(defaults.samples))
  return makeAnswersConfig({
    apiKeys: Option.match(keys, { onNone: () => [], onSome: (k) => parseApiKeys(Redacted.value(k)) }),
    baseUrl: Option.getOrUndefined(Option.filter(baseUrl, (u) => u.trim().length > 0)),
    model,
    transcriptionModel,
    temperature,
    samples
  })
})
