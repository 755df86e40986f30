/**
 * Builds a report from its inputs. Pure and deterministic: the same rows give the same report, which is what lets
 * a cached report be checked against a rebuild from the stored events.
 */
import type { AnswerScore } from "../../schemas/AnswerScore.ts"
import {
  humanDecisionNotice,
  type Keyframe,
  type ModelVersions,
  type QuestionReport,
  REPORT_VERSION,
  type Report,
  type Signal
} from "../../schemas/Report.ts"
import { combineSamples } from "../answers/CombineSamples.ts"
import type { JobRow, ReportInputs } from "../store/ReportInputs.ts"
import { overallOf } from "./OverallScore.ts"
import { affectOf, attentionOf, hasBlinks, questionSignalsOf, timelineOf, uploadSignalsOf } from "./SignalSummary.ts"
import type { VisionInfo } from "./VisionModels.ts"

const finalStatuses = new Set(["finished", "abandoned"])

/** `/v1/interviews/<id>/media/<kind>/<name>` for keys of the usual three segments, otherwise none. */
const mediaUrl = (interviewId: string, key: string): string | null => {
  const parts = key.split("/")
  return parts.length === 3 && parts[0] === interviewId
    ? `/v1/interviews/${interviewId}/media/${encodeURIComponent(parts[1]!)}/${encodeURIComponent(parts[2]!)}`
    : null
}

const scoringOf = (job: JobRow | undefined, score: AnswerScore | null): QuestionReport["scoring"] => {
  if (job === undefined) return { status: "pending", attempts: 0, reason: null }
  switch (job.state) {
    case "done":
      return score === null
        ? { status: "failed", attempts: job.attempts, reason: job.lastError ?? "no grading was stored" }
        : { status: "scored", attempts: job.attempts, reason: job.lastError }
    case "failed":
      return { status: "failed", attempts: job.attempts, reason: job.lastError }
    default:
      return { status: "pending", attempts: job.attempts, reason: job.lastError }
  }
}

/**
 * Why affect signals are left out of the report, or null when they are used: the interview has them off, or the
 * candidate's latest decision on affect analysis does not grant it on the tenant's current notice (whatever the
 * rows of a session hold, e.g. signals before a withdrawal).
 */
const affectNotUsedOf = (inputs: ReportInputs): Report["affectNotUsed"] => {
  if (!inputs.interview.affectSignals) return "off_for_interview"
  const latest = inputs.consents.filter((c) => c.kind === "affect_analysis").at(-1)
  return latest?.granted === true && latest.noticeVersion === inputs.noticeVersion ? null : "candidate_declined"
}

const scorerKey = (s: AnswerScore) => `${s.scorer}\u0000${s.model}\u0000${s.promptVersion}\u0000${s.temperature}`

export const buildReport = (inputs: ReportInputs, vision: VisionInfo | null): Report => {
  const { interview } = inputs
  const affectNotUsed = affectNotUsedOf(inputs)
  const affect = affectNotUsed === null
  const jobs = new Map(inputs.jobs.map((j) => [j.answerId, j]))
  const usedScores: Array<AnswerScore> = []

  const questions = [...interview.questions]
    .sort((a, b) => a.index - b.index)
    .map((q): QuestionReport => {
      const answer = inputs.answers.find((a) => a.questionId === q.id)
      // A video uploaded for the question was sent for it on purpose: its signals are shown instead of the stream's.
      const signals = uploadSignalsOf(inputs.videos, q.id, affect) ?? questionSignalsOf(inputs.windows, q.id, affect)
      const base = { questionId: q.id, index: q.index, prompt: q.prompt, signals }
      if (answer === undefined) {
        return { ...base, answer: null, scoring: { status: "unanswered", attempts: 0, reason: null }, score: null }
      }
      const job = jobs.get(answer.id)
      const samples = inputs.samples.filter((s) => s.answerId === answer.id).map((s) => s.score)
      const score =
        job?.state === "done" && samples.length > 0
          ? combineSamples(samples, job.samplesRequested ?? samples.length)
          : null
      if (score !== null) usedScores.push(...samples)
      return {
        ...base,
        answer: {
          answerId: answer.id,
          source: answer.source,
          text: answer.body,
          transcriptionModel: answer.transcriptionModel,
          submittedAt: answer.createdAt
        },
        scoring: scoringOf(job, score),
        score
      }
    })

  const count = (status: QuestionReport["scoring"]["status"]) =>
    questions.filter((q) => q.scoring.status === status).length
  const scoring = {
    answered: questions.filter((q) => q.answer !== null).length,
    scored: count("scored"),
    pending: count("pending"),
    failed: count("failed"),
    unanswered: count("unanswered")
  }
  const complete = finalStatuses.has(interview.status) && scoring.pending === 0

  const attention = attentionOf(inputs.windows, inputs.attention)
  const affectSummary = affectOf(inputs.windows, affect)
  const signalsUsed: Array<Signal> = ["answers"]
  if (attention !== null) signalsUsed.push("attention")
  if (affectSummary !== null) signalsUsed.push("emotion")
  if (hasBlinks(inputs.windows, affect)) signalsUsed.push("blinks")

  const overall = overallOf({
    answers: {
      scored: questions.flatMap((q) => (q.score === null ? [] : [q.score.overall])),
      unanswered: scoring.unanswered,
      failed: scoring.failed,
      pending: scoring.pending
    },
    attention,
    affect: affectSummary,
    affectSignals: affect,
    provisional: !complete,
    configuredWeights: inputs.scoreWeights
  })

  const scorers = new Map<string, ModelVersions["scorers"][number]>()
  for (const s of usedScores) {
    scorers.set(scorerKey(s), {
      scorer: s.scorer,
      label: s.label,
      model: s.model,
      promptVersion: s.promptVersion,
      temperature: s.temperature
    })
  }
  const keyframes: Array<Keyframe> = inputs.media.map((m) => ({
    key: m.key,
    kind: m.kind,
    url: mediaUrl(interview.id, m.key),
    contentType: m.contentType,
    bytes: m.bytes,
    createdAt: m.createdAt,
    detail: m.detail
  }))

  return {
    reportVersion: REPORT_VERSION,
    interviewId: interview.id,
    candidate: interview.candidate,
    status: interview.status,
    affectSignals: affect,
    createdAt: interview.createdAt,
    startedAt: interview.startedAt,
    finishedAt: interview.finishedAt,
    complete,
    scoring,
    overall,
    signalsUsed,
    affectNotUsed,
    consents: inputs.consents,
    noticeVersion: inputs.noticeVersion,
    questions,
    attention,
    affect: affectSummary,
    timeline: timelineOf(inputs.windows, affect),
    keyframes,
    models: {
      scorers: [...scorers.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v),
      transcription: [
        ...new Set(inputs.answers.flatMap((a) => (a.transcriptionModel === null ? [] : [a.transcriptionModel])))
      ].sort(),
      vision: inputs.windows.length > 0 || inputs.videos.length > 0 ? vision : null
    },
    reviews: inputs.reviews,
    humanDecision: humanDecisionNotice
  }
}
