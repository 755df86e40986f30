/**
 * The engine settings `--compare` measures against each other. Each runs on a fresh engine with the session
 * settings replaced (BenchEngine.ts); the first is the baseline (the engine's defaults), each other variant
 * switches one feature off.
 */
import type { SessionSettings } from "../actors/SessionConfig.ts"

export interface EngineVariant {
  readonly name: string
  readonly session: Partial<SessionSettings>
}

export const EngineVariants: ReadonlyArray<EngineVariant> = [
  { name: "defaults (batching on, tracking on)", session: {} },
  { name: "batching off", session: { pool: { maxBatch: 1 } } },
  { name: "tracking off", session: { pool: { detectEvery: 1, emotionEvery: 1 } } }
]
