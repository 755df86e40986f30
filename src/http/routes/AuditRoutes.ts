/**
 * Operators and responsible hiring: the audit log, the access-request export of everything held about a
 * candidate, candidates' voluntary self-identification, and the impact ratios computed from it.
 *
 * Self-identification is written here and read only by the impact-ratio audit and the candidate's export: reports
 * and scorers never see it.
 */
import { Effect, Option } from "effect"
import { AuditPage, ImpactRatios, ImpactRatiosQuery, AuditQuery } from "../../../schemas/Audit.ts"
import { CandidateExport, Demographics, DemographicsRequest } from "../../../schemas/CandidateData.ts"
import { impactRatios, impactRatiosCsv, scoringOutcomes, type ImpactCandidate } from "../../reports/ImpactRatios.ts"
import { ReportAggregator } from "../../reports/ReportAggregator.ts"
import { AuditLog, InvalidAuditCursor } from "../../store/AuditLog.ts"
import { readCandidateExport } from "../../store/CandidateExport.ts"
import { impactSample, saveDemographics } from "../../store/Demographics.ts"
import { Interviews } from "../../store/Interviews.ts"
import { ApiError } from "../ApiError.ts"
import { audit } from "../Audited.ts"
import { json, route } from "../Route.ts"
import { candidateInterview } from "./AnswerRoutes.ts"
import { requireInterview } from "./InterviewRoutes.ts"

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

const wantsCsv = (headers: Readonly<Record<string, string>>) =>
  (headers.accept ?? "").toLowerCase().includes("text/csv")

export const auditRoutes = [
  route({
    method: "get",
    path: "/v1/audit",
    operationId: "listAudit",
    summary: "Admin: the tenant's audit log (reads of candidate data, decisions, consents…), newest first",
    tags: ["audit"],
    access: "apiKey",
    role: "admin",
    query: AuditQuery,
    responses: { 200: { description: "One page", schema: AuditPage } },
    handle: ({ query, principal }) =>
      Effect.gen(function* () {
        const log = yield* AuditLog
        const page = yield* log
          .query(
            principal.tenantId,
            { subject: query.subject, actor: query.actor, action: query.action, from: query.from, to: query.to },
            { limit: query.limit ?? 100, cursor: query.cursor }
          )
          .pipe(
            Effect.mapError((e) =>
              e instanceof InvalidAuditCursor
                ? ApiError.validation(`invalid query: cursor: ${e.message}`)
                : dbUnavailable()
            )
          )
        return json(200, page)
      })
  }),
  route({
    method: "get",
    path: "/v1/interviews/:id/export",
    operationId: "exportInterview",
    summary: "Admin: everything held about the interview's candidate as one document (an access request); audited",
    tags: ["audit"],
    access: "apiKey",
    role: "admin",
    responses: { 200: { description: "The candidate's data", schema: CandidateExport } },
    handle: (request) =>
      Effect.gen(function* () {
        const interview = yield* requireInterview(request.principal.tenantId, request.params.id!)
        const document = yield* readCandidateExport(interview).pipe(Effect.mapError(dbUnavailable))
        yield* audit(request, "interview.export", interview.id)
        return {
          ...json(200, document),
          headers: {
            "cache-control": "no-store",
            "content-disposition": `attachment; filename="interview-${interview.id}.json"`
          }
        }
      })
  }),
  route({
    method: "post",
    path: "/v1/interviews/:id/demographics",
    operationId: "recordDemographics",
    summary:
      "Candidate: voluntary self-identification (sex, race/ethnicity) for bias audits; never in reports or scoring",
    tags: ["audit"],
    access: "candidate",
    body: DemographicsRequest,
    responses: { 201: { description: "Stored (replacing an earlier answer)", schema: Demographics } },
    handle: ({ params, headers, body, remote }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!)
        const stored = yield* saveDemographics(interview, body, remote).pipe(Effect.mapError(dbUnavailable))
        return json(201, stored)
      })
  }),
  route({
    method: "get",
    path: "/v1/audits/impact-ratios",
    operationId: "getImpactRatios",
    summary:
      "Admin: impact ratios by sex, race/ethnicity and their intersections for interviews of a period (NYC Local Law 144 method); `Accept: text/csv` for CSV",
    tags: ["audit"],
    access: "apiKey",
    role: "admin",
    query: ImpactRatiosQuery,
    responses: {
      200: {
        description: "The table (JSON, or CSV with `Accept: text/csv`)",
        schema: ImpactRatios,
        alternatives: ["text/csv"]
      }
    },
    handle: ({ query, principal, headers }) =>
      Effect.gen(function* () {
        const basis = query.basis ?? "selection"
        const rows = yield* impactSample(principal.tenantId, { from: query.from, to: query.to }).pipe(
          Effect.mapError(dbUnavailable)
        )
        let sample: Array<ImpactCandidate>
        let median: number | null = null
        let excluded = 0
        if (basis === "selection") {
          sample = rows.map((r) => ({
            sex: r.sex,
            raceEthnicity: r.raceEthnicity,
            selected: r.decision === "advance"
          }))
        } else {
          // The overall score of the complete report: cached, or built now (and cached) when not yet read.
          const aggregator = yield* ReportAggregator
          const interviews = yield* Interviews
          const scored: Array<{ sex: string | null; raceEthnicity: string | null; score: number }> = []
          for (const r of rows) {
            let score: number | null = r.cachedScore ?? null
            if (r.cachedScore === undefined) {
              const interview = yield* interviews
                .get(principal.tenantId, r.interviewId)
                .pipe(Effect.mapError(dbUnavailable))
              if (Option.isSome(interview)) {
                const report = yield* aggregator.report(interview.value).pipe(Effect.mapError(dbUnavailable))
                score = report.complete ? report.overall.score : null
              }
            }
            if (score === null) excluded++
            else scored.push({ sex: r.sex, raceEthnicity: r.raceEthnicity, score })
          }
          const outcomes = scoringOutcomes(scored.map((s) => s.score))
          median = outcomes.median
          sample = scored.map((s, i) => ({
            sex: s.sex,
            raceEthnicity: s.raceEthnicity,
            selected: outcomes.selected[i]!
          }))
        }
        const table = impactRatios(sample)
        if (wantsCsv(headers)) {
          return {
            status: 200,
            body: impactRatiosCsv(table),
            contentType: "text/csv; charset=utf-8",
            headers: { "content-disposition": `attachment; filename="impact-ratios-${basis}.csv"` }
          }
        }
        return json(200, { basis, from: query.from ?? null, to: query.to ?? null, median, excluded, ...table })
      })
  })
]
