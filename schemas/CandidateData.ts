/**
 * Wire types of what a candidate gives about themself apart from the interview (voluntary self-identification,
 * kept out of reports and scoring) and of the access-request export of everything held about them.
 */
import { Schema } from "effect"
import { Interview } from "./Api.ts"
import { Consent } from "./Consent.ts"
import { Review } from "./Report.ts"

/** The categories of self-identification (EEO-1 for race/ethnicity); either may also be `declined`. */
export const sexCategories = ["female", "male"] as const
export const raceEthnicityCategories = [
  "hispanic_or_latino",
  "white",
  "black_or_african_american",
  "native_hawaiian_or_pacific_islander",
  "asian",
  "american_indian_or_alaska_native",
  "two_or_more_races"
] as const

export const SexCategory = Schema.Literals([...sexCategories, "declined"])

/** EEO-1 race/ethnicity categories, and `declined`. */
export const RaceEthnicityCategory = Schema.Literals([...raceEthnicityCategories, "declined"])

export const DemographicsRequest = Schema.Struct({
  sex: Schema.optionalKey(SexCategory),
  raceEthnicity: Schema.optionalKey(RaceEthnicityCategory.annotate({ description: "EEO-1 category." }))
}).annotate({
  title: "DemographicsRequest",
  description:
    "Voluntary. Used only for impact-ratio audits: never shown in reports, never given to a scorer, erased with the interview."
})

export const Demographics = Schema.Struct({
  sex: Schema.NullOr(SexCategory),
  raceEthnicity: Schema.NullOr(RaceEthnicityCategory),
  declined: Schema.Boolean.annotate({ description: "Both questions declined or left unanswered." }),
  createdAt: Schema.String
}).annotate({ title: "Demographics" })

export const ExportAnswer = Schema.Struct({
  id: Schema.String,
  questionId: Schema.String,
  source: Schema.Literals(["text", "audio"]),
  body: Schema.String.annotate({ description: "The answer's text (the transcript for a spoken answer)." }),
  createdAt: Schema.String
}).annotate({ title: "ExportAnswer" })

export const ExportAnswerScore = Schema.Struct({
  answerId: Schema.String,
  sample: Schema.Int,
  scorer: Schema.String,
  model: Schema.String,
  createdAt: Schema.String,
  result: Schema.Unknown.annotate({ description: "The stored grading as the scorer returned it." })
}).annotate({ title: "ExportAnswerScore" })

export const ExportScoreEvent = Schema.Struct({
  seq: Schema.Int,
  tag: Schema.String,
  at: Schema.String,
  payload: Schema.Unknown
}).annotate({ title: "ExportScoreEvent" })

export const ExportScoreWindow = Schema.Struct({
  second: Schema.Int,
  questionId: Schema.NullOr(Schema.String),
  frames: Schema.Int,
  facePresence: Schema.Number,
  /** Null where affect signals were off. */
  blinks: Schema.NullOr(Schema.Int),
  emotion: Schema.Unknown
}).annotate({ title: "ExportScoreWindow" })

export const ExportMedia = Schema.Struct({
  key: Schema.String,
  kind: Schema.String,
  contentType: Schema.String,
  bytes: Schema.Int,
  createdAt: Schema.String
}).annotate({ title: "ExportMedia" })

export const ExportVideoAnalysis = Schema.Struct({
  jobId: Schema.String,
  questionId: Schema.String,
  mediaKey: Schema.String.annotate({ description: "The uploaded video, in the media store." }),
  summary: Schema.Unknown.annotate({ description: "The signals read from it (frames, face presence, affect)." }),
  createdAt: Schema.String
}).annotate({ title: "ExportVideoAnalysis" })

export const CandidateExport = Schema.Struct({
  exportedAt: Schema.String,
  interview: Interview,
  answers: Schema.Array(ExportAnswer),
  answerScores: Schema.Array(ExportAnswerScore),
  scoreEvents: Schema.Array(ExportScoreEvent).annotate({ description: "Every score event, in order." }),
  scoreWindows: Schema.Array(ExportScoreWindow).annotate({ description: "The per-second video signals." }),
  consents: Schema.Array(Consent),
  reviews: Schema.Array(Review),
  demographics: Schema.NullOr(Demographics),
  videoAnalyses: Schema.Array(ExportVideoAnalysis).annotate({
    description: "Analyses of videos uploaded for the interview's questions."
  }),
  media: Schema.Array(ExportMedia).annotate({
    description: "Stored media objects (keyframes, heat-maps); fetch each from `/v1/interviews/{id}/media/…`."
  })
}).annotate({
  title: "CandidateExport",
  description: "Everything held about the candidate of one interview, for an access request."
})
