/** Public surface of answer scoring and transcription. */
export * from "./AnswerErrors.ts"
export { AnswerScorer, type AnswerScorerShape, type ScorableQuestion, type ScoreAnswerInput } from "./AnswerScorer.ts"
export { type AnswersServices, layerAnswers, layerAnswersFromConfig } from "./Answers.ts"
export { type AnswersConfig, answersConfigFromEnv, defaults, makeAnswersConfig, parseApiKeys } from "./AnswersConfig.ts"
export { decodeAnswerText, validateAnswerText } from "./AnswerText.ts"
export { defaultRubric, rubricFor } from "./DefaultRubric.ts"
export { isVerbatim, makeEvidenceChecker } from "./Evidence.ts"
export { offlineLabel, offlineModel } from "./OfflineScorer.ts"
export {
  type KeyMetrics,
  type KeyPoolMetrics,
  type KeyState,
  OpenAiKeyPool,
  type OpenAiKeyPoolShape,
  sampleKeyPool
} from "./OpenAiKeyPool.ts"
export { acceptedAudioTypes, type Transcript, Transcriber, type TranscriberShape } from "./Transcriber.ts"
