/**
 * Piscina worker: owns one set of ONNX sessions (created once, at start) and is otherwise stateless — tracking
 * state arrives with each task and leaves with its result.
 */
import { threadId, workerData } from "node:worker_threads"
import sharp from "sharp"
import { threadCpuSeconds } from "../ThreadCpu.ts"
import { analyzeFrames, makePipeline, type Pipeline } from "./FramePipeline.ts"
import { loadOnnxModels } from "./OnnxModels.ts"
import { TaskStarts, type WorkerResult, type WorkerSettings, type WorkerTask } from "./WorkerProtocol.ts"

const settings = workerData as WorkerSettings
const starts = settings.taskStarts === undefined ? undefined : new TaskStarts(settings.taskStarts)

// One worker per core: libvips must not start its own thread pool, and its cache only holds frames we never see again.
sharp.concurrency(1)
sharp.cache(false)

const pipeline: Promise<Pipeline> = loadOnnxModels(settings.modelsDir).then((models) => makePipeline(models, settings))
// A load failure is reported by every task (and so by the pool's warm-up), never as an unhandled rejection.
pipeline.catch(() => undefined)

const warmup = async (p: Pipeline): Promise<void> => {
  await p.models.detect(p.detectInput.take(1).fill(0), 1)
  await p.models.mesh(p.meshInput.take(1).fill(0), 1)
  await p.models.emotion(p.emotionInput.take(1).fill(0), 1)
}

let released = false

export default async function run(task: WorkerTask): Promise<WorkerResult> {
  try {
    const p = await pipeline
    if (task._tag === "Warmup") {
      await warmup(p)
      return { _tag: "Done", frames: [] }
    }
    if (task._tag === "Release") {
      if (!released) {
        released = true
        await p.models.release()
      }
      // Hold this worker a moment so the other Release tasks reach the other workers.
      await new Promise((resolve) => setTimeout(resolve, 100))
      return { _tag: "Done", frames: [] }
    }
    if (released) return { _tag: "Failed", message: "inference worker is shutting down" }
    // The pool's task timeout starts now, not while this worker was starting or loading its models.
    starts?.mark(task.ticket)
    const frames = await analyzeFrames(p, task.bytes, task.frames)
    const seconds = threadCpuSeconds()
    return { _tag: "Done", frames, ...(seconds === undefined ? {} : { cpu: { threadId, seconds } }) }
  } catch (error) {
    return { _tag: "Failed", message: error instanceof Error ? error.message : String(error) }
  }
}
