/**
 * Wire types of the recruiter HTTP API (`/v1`). The same Schemas validate requests, encode responses and
 * generate `/v1/openapi.json`.
 */
import { Schema } from "effect"
import { QuestionInput, Rubric } from "./Rubric.ts"

/** `{error: {code, message}}`: every error response of the API. */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String.annotate({ description: "Stable machine-readable code, e.g. `not_found`." }),
    message: Schema.String.annotate({ description: "What went wrong, for people." })
  })
}).annotate({ title: "Error" })

const Email = Schema.String.check(
  Schema.isMaxLength(320, { message: "candidate.email must be at most 320 characters" }),
  Schema.isPattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/u, { message: "candidate.email must be an email address" })
)

const Name = Schema.String.check(
  Schema.makeFilter((s: string) => s.trim().length > 0 || "candidate.name must not be empty", {
    toJsonSchema: () => ({ minLength: 1 })
  }),
  Schema.isMaxLength(200, { message: "candidate.name must be at most 200 characters" })
)

export const Candidate = Schema.Struct({
  name: Name.annotate({ description: "Candidate's name as shown to recruiters." }),
  email: Schema.optionalKey(Email.annotate({ description: "Candidate's email address." }))
}).annotate({ title: "Candidate" })

/** `live`: answers are typed or spoken while the camera streams; `recorded`: each answer is also recorded as video. */
export const InterviewMode = Schema.Literals(["live", "recorded"]).annotate({
  description:
    "`live` (default): answers are typed (or spoken) while the camera streams. `recorded`: the candidate page also records each answer as video with sound, uploads it, and the report plays it back."
})
export type InterviewMode = typeof InterviewMode.Type

export const CreateInterviewRequest = Schema.Struct({
  candidate: Candidate,
  mode: Schema.optionalKey(InterviewMode),
  questions: Schema.Array(QuestionInput).check(
    Schema.isMinLength(1, { message: "questions must contain at least 1 question" }),
    Schema.isMaxLength(50, { message: "questions must contain at most 50 questions" })
  )
}).annotate({ title: "CreateInterviewRequest" })
export type CreateInterviewRequest = typeof CreateInterviewRequest.Type

export const CreateInterviewResponse = Schema.Struct({
  id: Schema.String.annotate({ description: "Interview id." }),
  candidateToken: Schema.String.annotate({
    description: "Join token for the candidate, scoped to this interview and expiring."
  }),
  joinUrl: Schema.String.annotate({
    description:
      "The candidate page on PUBLIC_URL (`/join/<id>#token=<token>`): the token is in the fragment, which browsers never send to servers."
  }),
  streamUrl: Schema.String.annotate({
    description: "The candidate WebSocket (`ws(s)://…/stream`); append `?token=<candidateToken>`."
  }),
  expiresAt: Schema.String.annotate({ description: "When the candidate token expires (ISO 8601)." })
}).annotate({ title: "CreateInterviewResponse" })

export const JoinLink = Schema.Struct({
  candidateToken: Schema.String,
  joinUrl: Schema.String,
  streamUrl: Schema.String,
  expiresAt: Schema.String
}).annotate({ title: "JoinLink" })

/** What the candidate page shows before the camera starts, read with the join token. */
export const CandidateView = Schema.Struct({
  interviewId: Schema.String,
  status: Schema.Literals(["scheduled", "in_progress", "finished", "abandoned"]),
  questionCount: Schema.Int,
  organisation: Schema.String.annotate({ description: "The hiring organisation (the tenant's name)." }),
  notice: Schema.Struct({ text: Schema.String, version: Schema.String }).annotate({
    description: "The tenant's notice; the consent records its version."
  }),
  retentionDays: Schema.Int.annotate({ description: "Days the interview is kept after it ends, then erased." }),
  contact: Schema.NullOr(Schema.String).annotate({ description: "Where to write about this data, when set." }),
  signals: Schema.Struct({ face: Schema.Boolean, emotion: Schema.Boolean, blinks: Schema.Boolean }).annotate({
    description: "What the analysis reads from the video; emotion and blinks only where the tenant allows them."
  }),
  affectDeclinable: Schema.Boolean.annotate({
    description: "Affect signals are on: the candidate may decline them and still take the interview."
  }),
  audioAnswers: Schema.Boolean.annotate({ description: "Spoken answers are transcribed (a key is configured)." }),
  audioTypes: Schema.Array(Schema.String),
  maxAudioBytes: Schema.Int,
  mode: InterviewMode,
  recording: Schema.Struct({
    maxBytes: Schema.Int.annotate({ description: "Largest recording of one answer." }),
    chunkBytes: Schema.Int.annotate({ description: "Largest chunk of one upload request." }),
    transcribed: Schema.Boolean.annotate({
      description: "The recording's sound is transcribed and stored as the answer; otherwise the answer is typed."
    })
  }).annotate({ description: "How recorded answers are uploaded (recorded mode)." }),
  streamUrl: Schema.String.annotate({ description: "The candidate WebSocket; append `?token=<join token>`." })
}).annotate({ title: "CandidateView" })

export const InterviewStatus = Schema.Literals(["scheduled", "in_progress", "finished", "abandoned"])

export const Question = Schema.Struct({
  id: Schema.String,
  index: Schema.Number,
  prompt: Schema.String,
  rubric: Schema.NullOr(Rubric),
  expectedPoints: Schema.Array(Schema.String)
}).annotate({ title: "Question" })

export const Interview = Schema.Struct({
  id: Schema.String,
  candidate: Schema.Struct({ name: Schema.String, email: Schema.NullOr(Schema.String) }),
  status: InterviewStatus,
  affectSignals: Schema.Boolean.annotate({
    description: "Whether emotion and blink signals are computed for this interview (tenant policy; off in the EU)."
  }),
  mode: InterviewMode,
  questions: Schema.Array(Question),
  createdAt: Schema.String,
  startedAt: Schema.NullOr(Schema.String),
  finishedAt: Schema.NullOr(Schema.String),
  live: Schema.optionalKey(
    Schema.Struct({
      runner: Schema.String.annotate({ description: "host:port of the cluster runner that owns the live session." }),
      since: Schema.String.annotate({ description: "When that runner took the session (ISO 8601)." })
    })
  ).annotate({
    description: "Cluster mode, while the interview's session is live: which node has it. Absent otherwise."
  })
}).annotate({ title: "Interview" })
export type Interview = typeof Interview.Type

export const InterviewSummary = Schema.Struct({
  id: Schema.String,
  candidateName: Schema.String,
  status: InterviewStatus,
  questionCount: Schema.Number,
  createdAt: Schema.String
}).annotate({ title: "InterviewSummary" })
export type InterviewSummary = typeof InterviewSummary.Type

export const InterviewPage = Schema.Struct({
  items: Schema.Array(InterviewSummary),
  nextCursor: Schema.NullOr(Schema.String).annotate({
    description: "Pass as `cursor` to get the next page; null on the last page."
  })
}).annotate({ title: "InterviewPage" })

export const ListInterviewsQuery = Schema.Struct({
  limit: Schema.optionalKey(
    Schema.FiniteFromString.check(
      Schema.isInt({ message: "limit must be an integer" }),
      Schema.isBetween({ minimum: 1, maximum: 200 }, { message: "limit must be between 1 and 200" })
    ).annotate({ description: "Page size, 1 to 200 (default 50)." })
  ),
  cursor: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(200)).annotate({ description: "Cursor from the previous page." })
  ),
  status: Schema.optionalKey(InterviewStatus)
}).annotate({ title: "ListInterviewsQuery" })

export const Health = Schema.Struct({
  status: Schema.Literals(["ok", "unavailable", "starting", "draining"]),
  checks: Schema.Record(
    Schema.String,
    Schema.Struct({ ok: Schema.Boolean, ms: Schema.Number, error: Schema.optionalKey(Schema.String) })
  )
}).annotate({ title: "Health" })

export const SeedResult = Schema.Struct({
  tenantId: Schema.String,
  apiKey: Schema.String,
  interviewId: Schema.String,
  candidateToken: Schema.String
})
export type SeedResult = typeof SeedResult.Type
