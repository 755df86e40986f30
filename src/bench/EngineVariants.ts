/**
 * The engine settings `--compare` measures against each other, as environment variables of `candor serve`.
 * The first is the baseline (the engine's defaults); each other variant switches one feature off.
 */

export interface EngineVariant {
  readonly name: string
  readonly env: Readonly<Record<string, string>>
}

export const EngineVariants: ReadonlyArray<EngineVariant> = [
  { name: "defaults (batching on, tracking on)", env: {} },
  { name: "batching off", env: { INFERENCE_MAX_BATCH: "1" } },
  { name: "tracking off", env: { INFERENCE_DETECT_EVERY: "1" } }
]
