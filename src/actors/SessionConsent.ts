/**
 * What the candidate of a session agreed to, as its actor knows it: the latest decision per kind and the tenant's
 * current notice version. A decision counts only when it grants and was made on the current notice. Without
 * `data_processing` frames are refused (`consent_required`); without `affect_analysis` frames are analysed
 * without emotion and blinks. Loaded with the restore point when the actor starts, and told to the actor as a
 * `consent` command whenever a decision is recorded (the row is committed before), so a withdrawal counts at once.
 */
import type { ConsentDecision, ConsentStanding } from "../store/Consents.ts"

export type { ConsentDecision, ConsentStanding } from "../store/Consents.ts"

/** A decision recorded over HTTP, told to the live session; `currentNotice` is the tenant's version then. */
export interface ConsentCommand extends ConsentDecision {
  readonly _tag: "consent"
  readonly currentNotice: string
}

/** The tenant published a new notice: live sessions count consent on that version from now on. */
export interface NoticeCommand {
  readonly _tag: "notice"
  readonly version: string
}

export class SessionConsent {
  private noticeVersion: string
  private readonly latest = new Map<ConsentDecision["kind"], ConsentDecision>()

  constructor(standing: ConsentStanding) {
    this.noticeVersion = standing.noticeVersion
    for (const d of standing.decisions) this.record(d)
  }

  /** Takes a decision unless a later one of its kind is already known (decisions may be told out of order). */
  record(decision: ConsentDecision): void {
    const known = this.latest.get(decision.kind)
    if (known === undefined || decision.at >= known.at) this.latest.set(decision.kind, decision)
  }

  /** The tenant's notice changed: decisions made on another version no longer count. */
  notice(version: string): void {
    this.noticeVersion = version
  }

  /** Whether the latest decision of `kind` grants it, on the current notice. */
  counts(kind: ConsentDecision["kind"]): boolean {
    const d = this.latest.get(kind)
    return d?.granted === true && d.noticeVersion === this.noticeVersion
  }

  /** As it stands, to carry over a restart. */
  standing(): ConsentStanding {
    return { noticeVersion: this.noticeVersion, decisions: [...this.latest.values()] }
  }
}
