/**
 * The answers feature as one layer: scorer, transcriber and the key pool they
 * share (its metrics are read from `OpenAiKeyPool`). Choose OpenAI when keys
 * are configured, the offline scorer and an unavailable transcriber otherwise.
 */
import { Layer } from "effect"
import { AnswerScorer, makeOffline } from "./AnswerScorer.ts"
import type { AnswersConfig } from "./AnswersConfig.ts"
import { OpenAiKeyPool } from "./OpenAiKeyPool.ts"
import { makeUnavailable, Transcriber } from "./Transcriber.ts"

export type AnswersServices = AnswerScorer | Transcriber | OpenAiKeyPool

/** All answer services for `config`, sharing one key pool. */
export const layerAnswers = (config: AnswersConfig): Layer.Layer<AnswersServices> =>
  config.apiKeys.length > 0
    ? Layer.mergeAll(AnswerScorer.layerOpenAIWithPool(config), Transcriber.layerOpenAIWithPool(config)).pipe(
        Layer.provideMerge(OpenAiKeyPool.layer(config))
      )
    : Layer.mergeAll(
        Layer.succeed(AnswerScorer, makeOffline(config.maxAnswerChars)),
        Layer.succeed(Transcriber, makeUnavailable(config)),
        OpenAiKeyPool.layer(config)
      )
