/**
 * Wire types of the operators' audit API: the audit log (`GET /v1/audit`) and the impact ratios of a hiring
 * sample by sex and race/ethnicity (`GET /v1/audits/impact-ratios`, the method of NYC Local Law 144).
 */
import { Schema } from "effect"

const Instant = (what: string) =>
  Schema.String.check(
    Schema.makeFilter((s: string) => !Number.isNaN(Date.parse(s)) || `${what} must be an ISO 8601 date or time`, {
      toJsonSchema: () => ({ format: "date-time" })
    })
  )

export const AuditQuery = Schema.Struct({
  subject: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(200)).annotate({ description: "Only entries about this id (interview)." })
  ),
  actor: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(200)).annotate({
      description: "Only entries by this actor: `key:<key id>`, `candidate:<interview id>` or `system`."
    })
  ),
  action: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(100)).annotate({ description: "Only this action, e.g. `report.read`." })
  ),
  from: Schema.optionalKey(Instant("from").annotate({ description: "Entries at or after this time (ISO 8601)." })),
  to: Schema.optionalKey(Instant("to").annotate({ description: "Entries before this time (ISO 8601)." })),
  cursor: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(200)).annotate({ description: "Cursor from the previous page." })
  ),
  limit: Schema.optionalKey(
    Schema.FiniteFromString.check(
      Schema.isInt({ message: "limit must be an integer" }),
      Schema.isBetween({ minimum: 1, maximum: 500 }, { message: "limit must be between 1 and 500" })
    ).annotate({ description: "Page size, 1 to 500 (default 100)." })
  )
}).annotate({ title: "AuditQuery" })

export const AuditEntry = Schema.Struct({
  id: Schema.String,
  at: Schema.String.annotate({ description: "When (ISO 8601)." }),
  actor: Schema.String.annotate({
    description: "`key:<API key id>`, `candidate:<interview id>` or `system`."
  }),
  action: Schema.String.annotate({
    description:
      "What was done: `report.read`, `report.html.read`, `media.read`, `live.view`, `interview.export`, `review.create`, `consent.grant`, `interview.create`, `interview.erase`…"
  }),
  subject: Schema.String.annotate({ description: "What it was done to (an interview id, a tenant id)." }),
  source: Schema.NullOr(Schema.String).annotate({
    description: "The client's address as the server saw it; null for entries made without a request."
  }),
  detail: Schema.Record(Schema.String, Schema.Unknown).annotate({ description: "Small facts, never candidate data." })
}).annotate({ title: "AuditEntry" })

export const AuditPage = Schema.Struct({
  items: Schema.Array(AuditEntry).annotate({ description: "Newest first." }),
  nextCursor: Schema.NullOr(Schema.String).annotate({
    description: "Pass as `cursor` to get the next page; null on the last page."
  })
}).annotate({ title: "AuditPage" })

export const ImpactBasis = Schema.Literals(["selection", "scoring"]).annotate({
  description:
    "selection: share of candidates whose latest human review decision is `advance`; scoring: share of candidates whose overall report score is above the median of the whole sample (complete reports only)."
})

export const ImpactRatiosQuery = Schema.Struct({
  from: Schema.optionalKey(
    Instant("from").annotate({ description: "Interviews created at or after this time (ISO 8601)." })
  ),
  to: Schema.optionalKey(Instant("to").annotate({ description: "Interviews created before this time (ISO 8601)." })),
  basis: Schema.optionalKey(ImpactBasis)
}).annotate({ title: "ImpactRatiosQuery" })

export const ImpactRow = Schema.Struct({
  category: Schema.String.annotate({ description: "`female`, `asian`, or an intersection such as `female/asian`." }),
  sex: Schema.NullOr(Schema.String),
  raceEthnicity: Schema.NullOr(Schema.String),
  candidates: Schema.Int,
  selected: Schema.Int.annotate({ description: "Candidates counted as selected (or scoring above the median)." }),
  rate: Schema.NullOr(Schema.Number).annotate({ description: "selected / candidates; null without candidates." }),
  impactRatio: Schema.NullOr(Schema.Number).annotate({
    description: "rate / the highest rate of the group; null when that is 0 or the category has no candidates."
  }),
  smallCategory: Schema.Boolean.annotate({ description: "Under 2 % of the whole sample (shown, not hidden)." }),
  belowFourFifths: Schema.Boolean.annotate({ description: "Impact ratio under 0.8." })
}).annotate({ title: "ImpactRow" })

export const ImpactGroup = Schema.Struct({
  group: Schema.Literals(["sex", "race_ethnicity", "intersection"]),
  unknown: Schema.Int.annotate({
    description: "Candidates of the sample left out of this group: declined or did not answer."
  }),
  declined: Schema.Int.annotate({ description: "Of `unknown`, those who declined to answer." }),
  rows: Schema.Array(ImpactRow)
}).annotate({ title: "ImpactGroup" })

export const ImpactRatios = Schema.Struct({
  basis: ImpactBasis,
  from: Schema.NullOr(Schema.String),
  to: Schema.NullOr(Schema.String),
  sampleSize: Schema.Int.annotate({ description: "Candidates in the sample, unknown categories included." }),
  selected: Schema.Int,
  median: Schema.NullOr(Schema.Number).annotate({ description: "Median overall score of the sample (scoring basis)." }),
  excluded: Schema.Int.annotate({
    description: "Interviews of the period left out of the sample (scoring basis: no complete report with a score)."
  }),
  groups: Schema.Array(ImpactGroup)
}).annotate({ title: "ImpactRatios" })
