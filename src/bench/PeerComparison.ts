/**
 * Ours vs the peer on the same frames and the same cores, measured back to back in one run: our InferencePool
 * (tracking off, then on) against Human on tfjs-wasm (caching off, then at its defaults). Runs alternate so
 * that drift in the machine's load affects both sides alike.
 */
import { createRequire } from "node:module"
import { availableParallelism } from "node:os"
import { type PeerOptions, runPeer, type ThroughputResult } from "./PeerRunner.ts"
import { type PoolRunResult, runPipelineInProcess } from "./PoolRunner.ts"

export interface PeerPair {
  readonly ours: PoolRunResult
  readonly peer: ThroughputResult
  /** Our frames/s over the peer's (wall clock: fair only when both sides obtained as many cores). */
  readonly ratio: number
  /**
   * Our frames per core-second over the peer's (= the peer's CPU ms per frame over ours): the comparison on the
   * same cores even when other work on the machine gave one side fewer of them.
   */
  readonly perCoreRatio: number
}

export interface PeerComparison {
  readonly humanVersion: string
  readonly cores: number
  /** Our tracking off vs Human's caching off: the same work on every frame. */
  readonly withoutReuse: PeerPair
  /** Our tracking on (defaults) vs Human's default caching. */
  readonly withReuse: PeerPair
}

export const runPeerComparison = async (options: {
  readonly clips: ReadonlyArray<ReadonlyArray<Uint8Array>>
  readonly cores: number
  readonly warmupMs: number
  readonly durationMs: number
  readonly log: (line: string) => void
}): Promise<PeerComparison> => {
  const { clips, cores, warmupMs, durationMs, log } = options
  try {
    createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm")
  } catch {
    throw new Error(
      "--peer runs Human on @tensorflow/tfjs-backend-wasm, a dev dependency: install the dev dependencies"
    )
  }
  const ours = (name: string, tracking: boolean) =>
    runPipelineInProcess({ name, clips, cores, tracking, warmupMs, durationMs })
  const peer = (caching: boolean) => {
    const o: PeerOptions = { cores, caching, clips, warmupMs, durationMs }
    return runPeer(o)
  }
  if (cores > availableParallelism()) log(`peer: ${cores} cores requested, ${availableParallelism()} available`)
  log("peer: ours, tracking off")
  const oursOff = await ours("Candor, tracking off", false)
  log(`peer: ${oursOff.framesPerSecond.toFixed(1)} frames/s; Human, caching off`)
  const humanOff = await peer(false)
  log(`peer: ${humanOff.framesPerSecond.toFixed(1)} frames/s; ours, tracking on`)
  const oursOn = await ours("Candor, tracking on (defaults)", true)
  log(`peer: ${oursOn.framesPerSecond.toFixed(1)} frames/s; Human, default caching`)
  const humanOn = await peer(true)
  log(`peer: ${humanOn.framesPerSecond.toFixed(1)} frames/s`)
  const pair = (a: PoolRunResult, b: ThroughputResult): PeerPair => ({
    ours: a,
    peer: b,
    ratio: b.framesPerSecond > 0 ? a.framesPerSecond / b.framesPerSecond : Number.POSITIVE_INFINITY,
    perCoreRatio: a.cpuMsPerFrame > 0 ? b.cpuMsPerFrame / a.cpuMsPerFrame : Number.POSITIVE_INFINITY
  })
  return {
    humanVersion: humanOff.version,
    cores,
    withoutReuse: pair(oursOff, humanOff),
    withReuse: pair(oursOn, humanOn)
  }
}
