/**
 * Where a session's outcomes go besides the database: the live view, `score` messages to the candidate, keyframes
 * to the media store, and `slowDown` to a socket that sends faster than the session keeps up with. Called only on
 * the actor's fiber, with the time the actor read from its `Clock`.
 */
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import type { ActorDeps } from "./ActorMessages.ts"
import { type Arrival, type CandidateConnection, frameError } from "./FrameFlight.ts"
import type { KeyframeRequest } from "./Outbox.ts"
import type { SessionCore } from "./SessionCore.ts"
import type { SessionInfo } from "./SessionInfo.ts"
import type { SessionLifecycle } from "./SessionLifecycle.ts"

/** Events the candidate sees as `score` (lifecycle steps reach it as `question`, `answerSaved`, `finished`). */
const signalTags: ReadonlySet<ScoreEvent["_tag"]> = new Set(["attention", "emotion", "blink", "questionSummary"])

/** The sink of one session; `clock` is read once, when arrivals start being counted. */
export const makeSink = (info: SessionInfo, deps: ActorDeps, life: SessionLifecycle, clock: () => number) => {
  const { live, keyframes, settings, stats } = deps
  const id = info.interviewId
  let lastSlowDownAt = Number.NEGATIVE_INFINITY
  let arrivals = 0
  let arrivalRate = 0
  let lastRateAt = clock()

  const slowDown = (to: CandidateConnection | undefined, now: number) => {
    if (to === undefined || now - lastSlowDownAt < settings.slowDownEveryMs) return
    lastSlowDownAt = now
    const maxFps = Math.max(1, Math.min(settings.maxFps, Math.floor(arrivalRate * 0.6)))
    to.send({ _tag: "slowDown", maxFps }, true)
  }

  return {
    slowDown,
    /** A frame taken from the mailbox (for the arrival rate that `slowDown` asks for). */
    arrived: () => {
      arrivals++
    },
    /** Once a tick: the frames per second the socket has been sending. */
    measureArrivals: (now: number) => {
      const elapsed = (now - lastRateAt) / 1000
      if (elapsed > 0) arrivalRate = 0.5 * arrivalRate + 0.5 * (arrivals / elapsed)
      arrivals = 0
      lastRateAt = now
    },
    /** The oldest queued frame was dropped for a newer one. */
    shed: (arrival: Arrival, now: number) => {
      arrivals++
      stats.framesShed++
      arrival.origin.send(
        frameError(arrival.frame.seq, "frame_shed", "session is behind; oldest queued frame dropped"),
        false
      )
      slowDown(arrival.origin, now)
    },
    /** Bulk events (windows, signals): live view and the candidate's `score` messages. */
    publishBulk: (events: ReadonlyArray<ScoreEvent>) => {
      live.publish(id, events)
      for (const event of events) life.send({ _tag: "score", event }, false)
    },
    /** Events of a commit, once it is committed. */
    publishCommitted: (events: ReadonlyArray<ScoreEvent>) => {
      live.publish(id, events)
      for (const e of events) if (signalTags.has(e._tag)) life.send({ _tag: "score", event: e }, false)
    },
    keyframes: (job: Arrival, analysis: FrameAnalysis | undefined, requests: ReadonlyArray<KeyframeRequest>) => {
      for (const k of requests) {
        keyframes.submit({
          interviewId: id,
          seq: k.seq,
          capturedAt: job.frame.capturedAt,
          reason: k.reason,
          image: job.frame.image,
          heatmap: analysis?.heatmap?.png,
          // A frame without a face (the face lost) has nothing to draw a heat-map on.
          wantHeatmap: info.affect && (analysis === undefined || analysis.faces.length > 0)
        })
      }
    },
    /** Where the session stands, on the live view (when it starts or resumes). */
    announceLive: (core: SessionCore) => live.setFields(id, core.liveFields())
  }
}

/** What `makeSink` returns: the actor's way out besides the database. */
export type SessionSink = ReturnType<typeof makeSink>
