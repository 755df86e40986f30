/**
 * The recruiter live view's sink: each interview's latest state in the live hash `interview:<id>` and every score
 * event on the channel `interview:<id>:events`. Fire and forget: a session never waits for it. While the live
 * store is unreachable, events are dropped (pub/sub keeps no history anyway) and the hash fields are merged in
 * memory, so the hash is current again once it answers: the live view pauses, nothing else does.
 */
import { Context, Deferred, Effect, Layer } from "effect"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import { type LiveBatch, LiveStore } from "../store/LiveStore.ts"

export const liveKey = (interviewId: string) => `interview:${interviewId}`
export const liveChannel = (interviewId: string) => `interview:${interviewId}:events`

export interface LiveSinkSettings {
  readonly ttlSeconds: number
  /** Events waiting to be published; beyond it the oldest are dropped. */
  readonly maxQueuedEvents: number
  /** After a failure, publishing pauses this long before trying again. */
  readonly pauseMs: number
  /**
   * Events and hash fields gather this long before they go out as one batch: one round trip to Redis for every
   * session's updates of the moment, not one per frame (each costs the main thread a socket write). People watch
   * the live view; 50 ms is below what they notice.
   */
  readonly lingerMs: number
}

export const defaultLiveSinkSettings: LiveSinkSettings = {
  ttlSeconds: 24 * 3600,
  maxQueuedEvents: 10_000,
  pauseMs: 1_000,
  lingerMs: 50
}

export interface LiveSinkStats {
  readonly published: number
  readonly dropped: number
  readonly paused: boolean
}

export interface LiveSinkShape {
  readonly publish: (interviewId: string, events: ReadonlyArray<ScoreEvent>) => void
  /** Merges fields into the live hash without an event (a session announcing where it stands when it starts). */
  readonly setFields: (interviewId: string, fields: Record<string, string | number>) => void
  /** Drops what is not yet published for the interview and waits for a publish under way to end (erasure). */
  readonly discard: (interviewId: string) => Effect.Effect<void>
  readonly stats: () => LiveSinkStats
}

/** The live hash fields an event updates. */
export const liveFields = (event: ScoreEvent, into: Record<string, string | number>): void => {
  into.eventSeq = event.seq
  into.updatedAt = event.at
  switch (event._tag) {
    case "interviewStarted":
      into.status = "in_progress"
      into.questionCount = event.questionCount
      break
    case "questionStarted":
      into.questionId = event.questionId
      into.questionIndex = event.index
      break
    case "answerRecorded":
      into.lastAnsweredQuestionId = event.questionId
      break
    case "interviewFinished":
      into.status = "finished"
      into.answered = event.answered
      break
    case "attention":
      into.facePresence = event.facePresence
      into.second = event.second
      break
    case "emotion":
      into.emotion = JSON.stringify(event.distribution)
      into.dominant = event.dominant
      into.volatility = event.volatility
      break
    case "blink":
      into.blinks = event.total
      if (event.perMinute !== null) into.blinksPerMinute = event.perMinute
      break
    case "questionSummary":
      break
  }
}

export const make = (live: LiveStore["Service"], settings: LiveSinkSettings = defaultLiveSinkSettings) =>
  Effect.gen(function* () {
    let queue: Array<{ interviewId: string; event: ScoreEvent }> = []
    const fields = new Map<string, Record<string, string | number>>()
    const counts = { published: 0, dropped: 0 }
    let pausedUntil = 0
    let wake: (() => void) | undefined
    /** Ends the linger now: set while the loop lingers. */
    let cutLinger: (() => void) | undefined
    /** An announcement is waiting: it goes out without the linger. */
    let urgent = false
    /** Completes when the publish under way is done. */
    let publishing: Deferred.Deferred<void> | undefined

    /** Puts back hash fields that could not be written, under any newer ones merged meanwhile. */
    const restore = (pending: ReadonlyArray<[string, Record<string, string | number>]>) => {
      for (const [interviewId, f] of pending) fields.set(interviewId, { ...f, ...fields.get(interviewId) })
    }

    /** Everything waiting, as one batch (one round trip to Redis); hash fields come back if it fails. */
    const publishAll = Effect.suspend(() => {
      const pending = [...fields]
      fields.clear()
      const events = queue
      queue = []
      const batch: LiveBatch = {
        hashes: pending.map(([interviewId, f]) => ({
          key: liveKey(interviewId),
          fields: f,
          ttlSeconds: settings.ttlSeconds
        })),
        messages: events.map(({ interviewId, event }) => ({
          channel: liveChannel(interviewId),
          message: JSON.stringify(event)
        }))
      }
      return live.writeBatch(batch).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            counts.published += events.length
          })
        ),
        Effect.tapError(() =>
          Effect.sync(() => {
            restore(pending)
            counts.dropped += events.length
          })
        )
      )
    })

    const loop = Effect.gen(function* () {
      while (true) {
        if (queue.length === 0 && fields.size === 0) {
          yield* Effect.callback<void>((resume) => {
            wake = () => resume(Effect.void)
            return Effect.sync(() => {
              wake = undefined
            })
          })
        }
        const paused = pausedUntil - Date.now()
        if (paused > 0) yield* Effect.sleep(paused)
        else if (!urgent && settings.lingerMs > 0) {
          // Updates gather for the linger; an announcement (`setFields`) cuts it short.
          yield* Effect.callback<void>((resume) => {
            const timer = setTimeout(() => resume(Effect.void), settings.lingerMs)
            cutLinger = () => {
              clearTimeout(timer)
              resume(Effect.void)
            }
            return Effect.sync(() => {
              clearTimeout(timer)
              cutLinger = undefined
            })
          })
        }
        urgent = false
        const done = Deferred.makeUnsafe<void>()
        publishing = done
        const exit = yield* Effect.exit(publishAll).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              publishing = undefined
              Deferred.doneUnsafe(done, Effect.void)
            })
          )
        )
        if (exit._tag === "Failure") {
          // Unreachable: what is queued is lost to the live view (the fields are kept and retried).
          counts.dropped += queue.length
          queue = []
          pausedUntil = Date.now() + settings.pauseMs
        }
      }
    })
    yield* Effect.forkScoped(loop)
    // On shutdown, what is still gathering goes out (bounded), after the loop's own publish if one is under way;
    // finalizers run last-added first, so this runs before the loop is interrupted.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        if (publishing !== undefined) yield* Deferred.await(publishing)
        if (queue.length > 0 || fields.size > 0) yield* Effect.ignore(publishAll)
      }).pipe(Effect.timeoutOption(2_000), Effect.asVoid)
    )

    const fieldsOf = (interviewId: string) => {
      let f = fields.get(interviewId)
      if (f === undefined) {
        f = {}
        fields.set(interviewId, f)
      }
      return f
    }
    const wakeUp = () => {
      const w = wake
      wake = undefined
      w?.()
    }

    const service: LiveSinkShape = {
      setFields: (interviewId, update) => {
        Object.assign(fieldsOf(interviewId), update)
        urgent = true
        cutLinger?.()
        wakeUp()
      },
      publish: (interviewId, events) => {
        if (events.length === 0) return
        const f = fieldsOf(interviewId)
        for (const event of events) {
          liveFields(event, f)
          if (Date.now() < pausedUntil) counts.dropped++
          else queue.push({ interviewId, event })
        }
        if (queue.length > settings.maxQueuedEvents) {
          const excess = queue.length - settings.maxQueuedEvents
          queue.splice(0, excess)
          counts.dropped += excess
        }
        wakeUp()
      },
      discard: (interviewId) =>
        Effect.suspend(() => {
          const drop = () => {
            fields.delete(interviewId)
            queue = queue.filter((q) => q.interviewId !== interviewId)
          }
          drop()
          const current = publishing
          // A failed publish puts its fields back: drop them again once it is over.
          return current === undefined ? Effect.void : Effect.andThen(Deferred.await(current), Effect.sync(drop))
        }),
      stats: () => ({ ...counts, paused: Date.now() < pausedUntil })
    }
    return service
  })

/** Publishes score events to the live store (Redis or in-process). */
export class LiveSink extends Context.Service<LiveSink, LiveSinkShape>()("candor/LiveSink") {
  static readonly layer = (settings: Partial<LiveSinkSettings> = {}) =>
    Layer.effect(
      LiveSink,
      Effect.flatMap(LiveStore, (live) => make(live, { ...defaultLiveSinkSettings, ...settings }))
    )
}
