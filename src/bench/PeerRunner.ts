/**
 * The peer: @vladmandic/human 3.3.6 on tfjs-wasm, the library whose models Candor converts, run as its users run
 * it — one instance per video stream — in worker threads, one per core, over the same frames our engine gets.
 * Needs the dev dependencies (@tensorflow/tfjs-backend-wasm).
 */
import type { Worker } from "node:worker_threads"
import { nextMessage, startWorker } from "./BenchWorkers.ts"
import { type LatencySummary, summarize } from "./LatencySummary.ts"
import type { PeerCommand, PeerReport } from "./PeerProtocol.ts"

export interface ThroughputResult {
  readonly name: string
  /** Frames analysed per second over all cores. */
  readonly framesPerSecond: number
  readonly frames: number
  readonly seconds: number
  /** Time per frame as its caller sees it. */
  readonly latencyMs: LatencySummary
  /** Faces found per analysed frame (the clips hold one each: ≈ 1 means the work was really done). */
  readonly facesPerFrame: number
  /** CPU time of this process (every thread) per analysed frame: what a frame costs, whatever else runs. */
  readonly cpuMsPerFrame: number
  /** Cores this process obtained while measuring; below the workers' count when the machine is shared. */
  readonly coresUsed: number
  readonly note?: string
}

export interface PeerOptions {
  readonly cores: number
  readonly caching: boolean
  readonly clips: ReadonlyArray<ReadonlyArray<Uint8Array>>
  readonly warmupMs: number
  readonly durationMs: number
}

export const runPeer = async (options: PeerOptions): Promise<ThroughputResult & { version: string }> => {
  const workers: Array<Worker> = []
  try {
    for (let i = 0; i < options.cores; i++) {
      workers.push(
        startWorker("./humanWorker.ts", {
          caching: options.caching,
          frames: options.clips[i % options.clips.length]
        })
      )
    }
    const ready = await Promise.all(workers.map((w) => nextMessage<PeerReport>(w)))
    const failed = ready.find((r) => r._tag === "Failed")
    if (failed?._tag === "Failed") throw new Error(`Human did not start: ${failed.message}`)
    const done = workers.map((w) => nextMessage<PeerReport>(w))
    const go: PeerCommand = { _tag: "Go", warmupMs: options.warmupMs, durationMs: options.durationMs }
    for (const w of workers) w.postMessage(go)
    // CPU is sampled around the measured part only: each worker warms up for warmupMs first.
    await new Promise((r) => setTimeout(r, options.warmupMs))
    const cpu = process.cpuUsage()
    const started = performance.now()
    const reports = await Promise.all(done)
    const used = process.cpuUsage(cpu)
    const wall = (performance.now() - started) / 1000
    const results = reports.map((r) => {
      if (r._tag !== "Done") throw new Error(`Human failed: ${r._tag === "Failed" ? r.message : r._tag}`)
      return r
    })
    const frames = results.reduce((n, r) => n + r.frames, 0)
    return {
      name: options.caching ? "Human, default caching" : "Human, no caching",
      version: ready[0]?._tag === "Ready" ? ready[0].version : "unknown",
      framesPerSecond: results.reduce((n, r) => n + r.frames / r.seconds, 0),
      frames,
      seconds: Math.max(...results.map((r) => r.seconds)),
      latencyMs: summarize(results.flatMap((r) => r.perFrameMs)),
      facesPerFrame: results.reduce((n, r) => n + r.faces, 0) / Math.max(1, frames),
      cpuMsPerFrame: (used.user + used.system) / 1000 / Math.max(1, frames),
      coresUsed: (used.user + used.system) / 1e6 / wall,
      note: `tfjs ${results[0]?.backend ?? "?"} backend, one instance per core, ${results.reduce((n, r) => n + r.tensors, 0)} live tensors after the run`
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
