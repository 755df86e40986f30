/**
 * Carrying out what one step of the core asked for, in one place after each step: replies sent at once (a frame's
 * to the socket it came on), bulk rows written behind, bulk events published, ordered outcomes queued behind their
 * commits, keyframes kept. The outbox is emptied for the next step.
 */
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { SessionWrite } from "../store/SessionWrites.ts"
import type { ActorState } from "./ActorState.ts"
import type { Requester } from "./CommitQueue.ts"
import type { Arrival } from "./FrameFlight.ts"

/** Carries out `s.out` for a step taken for `requester` (for an analysed frame: its `job` and `analysis`). */
export const dispatch = (s: ActorState, requester: Requester, job?: Arrival, analysis?: FrameAnalysis): void => {
  const { out } = s
  const id = s.info.interviewId
  for (const m of out.replies) (job?.origin ?? s.life.connection)?.send(m, false)
  const rows: Array<SessionWrite> = []
  for (const event of out.events) rows.push({ _tag: "Event", interviewId: id, event })
  for (const row of out.windows) rows.push({ _tag: "Window", interviewId: id, row })
  if (out.snapshot !== undefined) {
    s.lastSnapshot = out.snapshot
    rows.push({ _tag: "Snapshot", interviewId: id, version: out.snapshot.version, state: out.snapshot })
  }
  if (rows.length > 0) s.deps.writes.write(id, rows)
  if (out.events.length > 0) s.sink.publishBulk(out.events)
  for (const step of out.ordered) s.commits.push(step, requester)
  if (job !== undefined) s.sink.keyframes(job, analysis, out.keyframes)
  out.clear()
}
