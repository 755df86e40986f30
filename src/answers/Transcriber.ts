/**
 * Turns a spoken answer into text through the OpenAI audio API (`whisper-1`
 * by default), using the same key pool as scoring. Without keys the service
 * still exists and fails every call with `TranscriptionUnavailable`, so a
 * deployment without OpenAI accepts text answers and explains audio refusals.
 */
import { Clock, type Config, Context, Effect, Layer } from "effect"
import {
  AudioTooLarge,
  EmptyAudio,
  type TranscriptionError,
  TranscriptionUnavailable,
  UnsupportedAudio
} from "./AnswerErrors.ts"
import { type AnswersConfig, answersConfigFromEnv, defaults } from "./AnswersConfig.ts"
import { OpenAiKeyPool } from "./OpenAiKeyPool.ts"

/** Accepted media types and the file extension the API infers the container from. */
const acceptedTypes: ReadonlyMap<string, string> = new Map([
  ["audio/webm", "webm"],
  ["audio/wav", "wav"],
  ["audio/x-wav", "wav"],
  ["audio/wave", "wav"]
])

export const acceptedAudioTypes: ReadonlyArray<string> = [...acceptedTypes.keys()]

export interface Transcript {
  readonly text: string
  /** Transcription model, kept with the answer for provenance. */
  readonly model: string
}

export interface TranscriberShape {
  /** False when no API key is configured: every call fails with `TranscriptionUnavailable`. */
  readonly available: boolean
  readonly transcribe: (audio: Uint8Array, contentType: string) => Effect.Effect<Transcript, TranscriptionError>
}

type Limits = Pick<AnswersConfig, "maxAudioBytes">

/** The media type without parameters (`audio/webm;codecs=opus` → `audio/webm`), or the failure. */
const checkAudio = (
  audio: Uint8Array,
  contentType: string,
  limits: Limits
): Effect.Effect<string, UnsupportedAudio | AudioTooLarge | EmptyAudio> => {
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase()
  const extension = acceptedTypes.get(mediaType)
  if (extension === undefined) return Effect.fail(new UnsupportedAudio({ contentType, accepted: acceptedAudioTypes }))
  if (audio.byteLength === 0) return Effect.fail(new EmptyAudio({}))
  if (audio.byteLength > limits.maxAudioBytes) {
    return Effect.fail(new AudioTooLarge({ byteLength: audio.byteLength, limit: limits.maxAudioBytes }))
  }
  return Effect.succeed(mediaType)
}

/** A transcriber that validates input and then refuses: no API key is configured. */
export const makeUnavailable = (limits: Limits = defaults): TranscriberShape => ({
  available: false,
  transcribe: (audio, contentType) =>
    Effect.flatMap(checkAudio(audio, contentType, limits), () => Effect.fail(new TranscriptionUnavailable({})))
})

/** A transcriber over the key pool in context. */
export const makeOpenAI = (
  config: Pick<AnswersConfig, "transcriptionModel" | "maxAudioBytes" | "perAnswerDeadlineMs" | "transcriptionTimeoutMs">
): Effect.Effect<TranscriberShape, never, OpenAiKeyPool> =>
  Effect.map(OpenAiKeyPool, (pool) => ({
    available: pool.size > 0,
    transcribe: (audio, contentType) =>
      Effect.gen(function* () {
        const mediaType = yield* checkAudio(audio, contentType, config)
        if (pool.size === 0) return yield* new TranscriptionUnavailable({})
        const deadline = (yield* Clock.currentTimeMillis) + config.perAnswerDeadlineMs
        const transcription = yield* pool.call(
          "audio.transcriptions",
          async (client, options) =>
            client.audio.transcriptions.create(
              {
                file: await (await import("openai")).toFile(audio, `answer.${acceptedTypes.get(mediaType)}`, {
                  type: mediaType
                }),
                model: config.transcriptionModel,
                response_format: "json"
              },
              options
            ),
          deadline,
          config.transcriptionTimeoutMs
        )
        return { text: transcription.text, model: config.transcriptionModel }
      }).pipe(Effect.withSpan("Transcriber.transcribe", { attributes: { bytes: audio.byteLength } }))
  }))

/** Speech-to-text for audio answers; see the module notes. */
export class Transcriber extends Context.Service<Transcriber, TranscriberShape>()("candor/answers/Transcriber") {
  /** Always fails with `TranscriptionUnavailable` (after validating the audio). */
  static readonly layerUnavailable: Layer.Layer<Transcriber> = Layer.succeed(Transcriber, makeUnavailable())

  /** OpenAI transcription over the `OpenAiKeyPool` in context. */
  static readonly layerOpenAIWithPool = (config: AnswersConfig): Layer.Layer<Transcriber, never, OpenAiKeyPool> =>
    Layer.effect(Transcriber, makeOpenAI(config))

  /** OpenAI transcription with its own key pool. */
  static readonly layerOpenAI = (config: AnswersConfig): Layer.Layer<Transcriber | OpenAiKeyPool> =>
    Transcriber.layerOpenAIWithPool(config).pipe(Layer.provideMerge(OpenAiKeyPool.layer(config)))

  /** Reads the environment; unavailable without keys. */
  static readonly layerFromConfig: Layer.Layer<Transcriber, Config.ConfigError> = Layer.unwrap(
    Effect.map(answersConfigFromEnv, (config) =>
      config.apiKeys.length > 0
        ? Layer.effect(Transcriber, makeOpenAI(config)).pipe(Layer.provide(OpenAiKeyPool.layer(config)))
        : Layer.succeed(Transcriber, makeUnavailable(config))
    )
  )
}
