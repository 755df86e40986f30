/**
 * Keeps keyframes: the JPEG under `<interview id>/keyframes/<seq>.jpg` in the media store and, with affect
 * signals on, the emotion heat-map next to it (`<seq>.heatmap.png`), each with its `media_objects` row. Runs in
 * the background with a small bounded queue: keyframes are samples, so when storage falls behind the newest
 * requests are refused rather than slowing a session down. On scope close it finishes what is queued.
 */
import { Context, Deferred, Effect, Fiber, Layer } from "effect"
import { InferencePool } from "../inference/InferencePool.ts"
import { MediaStore } from "../store/MediaStore.ts"
import { WriteBehind } from "../store/WriteBehind.ts"
import type { KeyframeReason } from "./KeyframePolicy.ts"

export interface KeyframeJob {
  readonly interviewId: string
  readonly seq: number
  readonly capturedAt: number
  readonly reason: KeyframeReason
  readonly image: Uint8Array
  /** The heat-map when the frame's analysis already carries one. */
  readonly heatmap: Uint8Array | undefined
  /** Affect signals on: a heat-map belongs next to the frame (computed here when missing). */
  readonly wantHeatmap: boolean
}

export interface KeyframeSinkShape {
  /** False when the queue is full (the keyframe is skipped). */
  readonly submit: (job: KeyframeJob) => boolean
  /** Drops the interview's queued keyframes and waits for one being stored to end (erasure). */
  readonly discard: (interviewId: string) => Effect.Effect<void>
}

export const keyframeKey = (interviewId: string, seq: number) => `${interviewId}/keyframes/${seq}.jpg`
export const heatmapKey = (interviewId: string, seq: number) => `${interviewId}/keyframes/${seq}.heatmap.png`

const MAX_QUEUED = 32
const DRAIN_TIMEOUT_MS = 10_000

export class KeyframeSink extends Context.Service<KeyframeSink, KeyframeSinkShape>()("candor/KeyframeSink") {
  static readonly layer = Layer.effect(
    KeyframeSink,
    Effect.gen(function* () {
      const media = yield* MediaStore
      const pool = yield* InferencePool
      const writes = yield* WriteBehind
      const queue: Array<KeyframeJob> = []
      let wake: (() => void) | undefined
      let closing = false
      let current: { readonly interviewId: string; readonly done: Deferred.Deferred<void> } | undefined

      const store = (job: KeyframeJob) =>
        Effect.gen(function* () {
          let heatmap = job.heatmap
          if (job.wantHeatmap && heatmap === undefined) {
            const analysis = yield* pool.analyze({
              seq: job.seq,
              capturedAt: job.capturedAt,
              image: job.image,
              affectEnabled: true,
              heatmap: true
            })
            heatmap = analysis.heatmap?.png
          }
          const detail = { seq: job.seq, capturedAt: job.capturedAt, reason: job.reason }
          const key = keyframeKey(job.interviewId, job.seq)
          yield* media.put(key, job.image, "image/jpeg")
          const rows = [
            {
              _tag: "Media" as const,
              interviewId: job.interviewId,
              key,
              kind: "keyframe",
              contentType: "image/jpeg",
              bytes: job.image.byteLength,
              detail
            }
          ]
          if (heatmap !== undefined) {
            const hk = heatmapKey(job.interviewId, job.seq)
            yield* media.put(hk, heatmap, "image/png")
            rows.push({
              _tag: "Media",
              interviewId: job.interviewId,
              key: hk,
              kind: "heatmap",
              contentType: "image/png",
              bytes: heatmap.byteLength,
              detail
            })
          }
          writes.write(job.interviewId, rows)
        })

      const loop = Effect.gen(function* () {
        while (true) {
          const job = queue.shift()
          if (job === undefined) {
            if (closing) return
            yield* Effect.callback<void>((resume) => {
              wake = () => resume(Effect.void)
              return Effect.sync(() => {
                wake = undefined
              })
            })
            continue
          }
          const done = Deferred.makeUnsafe<void>()
          current = { interviewId: job.interviewId, done }
          const exit = yield* Effect.exit(store(job)).pipe(
            Effect.ensuring(
              Effect.sync(() => {
                current = undefined
                Deferred.doneUnsafe(done, Effect.void)
              })
            )
          )
          if (exit._tag === "Failure") {
            yield* Effect.logWarning(`keyframe ${job.interviewId}/${job.seq} not stored`, exit.cause)
          }
        }
      })
      const fiber = yield* Effect.forkDetach(loop)
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          closing = true
          wake?.()
          yield* Fiber.await(fiber).pipe(Effect.timeoutOption(DRAIN_TIMEOUT_MS))
          yield* Fiber.interrupt(fiber)
        })
      )

      return {
        submit: (job) => {
          if (closing || queue.length >= MAX_QUEUED) return false
          queue.push(job)
          const w = wake
          wake = undefined
          w?.()
          return true
        },
        discard: (interviewId) =>
          Effect.suspend(() => {
            for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.interviewId === interviewId) queue.splice(i, 1)
            return current?.interviewId === interviewId ? Deferred.await(current.done) : Effect.void
          })
      }
    })
  )
}
