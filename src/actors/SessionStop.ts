/**
 * How a SessionActor ends once its loop is over (asked to stop, passivating, failed, or erased): a final snapshot
 * unless the session failed or was erased, pending commits waited for so their acknowledgements go out before the
 * socket closes, and every command still queued answered `notTaken` so its caller may ask a new actor. Runs on the
 * actor's fiber; completions still come through the mailbox.
 */
import { Clock, Effect } from "effect"
import { CloseCodes, type ServerMessage } from "../../schemas/Protocol.ts"
import type { ActorMailbox } from "./ActorMessages.ts"
import type { ActorState } from "./ActorState.ts"
import { socketRequester } from "./CommitQueue.ts"
import { dispatch } from "./Dispatch.ts"

const erasedMessage: ServerMessage = { _tag: "error", code: "erased", message: "the interview was erased" }

/** Commands still queued when the session stops were not taken: their callers may ask a new actor. */
const refuseControl = (mailbox: ActorMailbox): boolean => {
  const control = mailbox.pollControl()
  if (control?.requester._tag === "Caller") control.requester.reply({ messages: [], committed: false, notTaken: true })
  return control !== undefined
}

/** The last steps: a final snapshot (unless failed or erased), pending commits delivered, the socket closed. */
export const finish = (s: ActorState): Effect.Effect<void> =>
  Effect.gen(function* () {
    const { commits, life, mailbox } = s
    const reason = life.stopReason
    s.now = yield* Clock.currentTimeMillis
    if (reason === "erased") {
      commits.abandon(erasedMessage)
      life.send(erasedMessage, true)
      life.close(CloseCodes.erased, "interview erased")
    } else {
      if (reason !== "failed") {
        s.core.stop(s.now, s.out)
        dispatch(s, socketRequester)
      }
      // Commits still pending are waited for, so their acknowledgements go out before the socket closes.
      const deadline = s.now + s.deps.settings.writeBehind.shutdownTimeoutMs
      while (commits.size > 0 && s.now < deadline) {
        yield* Effect.timeoutOption(mailbox.waitFor(false), Math.max(1, deadline - s.now))
        s.now = yield* Clock.currentTimeMillis
        const message = mailbox.pollInternal()
        if (message?._tag === "Committed") commits.committed(message.slot, message.failure)
        else if (message === undefined) refuseControl(mailbox)
      }
      commits.abandon({ _tag: "error", code: "unavailable", message: "the session stopped; retry" })
      if (reason === "shutdown") life.close(CloseCodes.goingAway, "server is shutting down")
      else if (reason === "failed") life.close(CloseCodes.internal, "session failed")
      else life.close(CloseCodes.normal, "session ended")
    }
    while (refuseControl(mailbox)) {}
    yield* s.work.interruptAll
    yield* s.deps.pool.forget(s.info.interviewId)
  })
