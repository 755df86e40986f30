/** What a session knows about its interview, read once when its actor starts and fixed for the actor's life. */

/** One question of the interview, in the order the candidate gets them. */
export interface SessionQuestion {
  readonly id: string
  readonly index: number
  readonly prompt: string
}

/** What the session knows about its interview; fixed for its life. */
export interface SessionInfo {
  readonly interviewId: string
  readonly tenantId: string
  readonly affect: boolean
  readonly questions: ReadonlyArray<SessionQuestion>
  readonly reportUrl: string
}
