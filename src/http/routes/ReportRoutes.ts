/**
 * Recruiter routes for reading an interview's report (JSON and HTML) and the media it links to, and the route
 * list of the whole answers-to-report feature (its services: `reportsLayer` in src/reports/Reports.ts).
 */
import { Effect, Option } from "effect"
import { Report } from "../../../schemas/Report.ts"
import { ReportAggregator } from "../../reports/ReportAggregator.ts"
import { reportHtml } from "../../reports/ReportHtml.ts"
import { MediaStore } from "../../store/MediaStore.ts"
import { ApiError } from "../ApiError.ts"
import { audit } from "../Audited.ts"
import { json, route } from "../Route.ts"
import { answerRoutes } from "./AnswerRoutes.ts"
import { requireInterview } from "./InterviewRoutes.ts"
import { reviewRoutes } from "./ReviewRoutes.ts"

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

const buildFor = (tenantId: string, id: string) =>
  Effect.gen(function* () {
    const interview = yield* requireInterview(tenantId, id)
    const aggregator = yield* ReportAggregator
    return yield* aggregator.report(interview).pipe(Effect.mapError(dbUnavailable))
  })

/**
 * The page loads only from this origin: its stylesheet and review script from `/assets/`, keyframes and heat-maps
 * from the media route (answer recordings too); the script talks to `/v1/me` and the reviews route. Nothing inline is allowed.
 */
const pagePolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

/**
 * The single byte range of a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) within `size` bytes; undefined
 * when there is none or it is not one range of bytes (the whole object is sent), "unsatisfiable" past the end.
 */
export const byteRange = (
  header: string | undefined,
  size: number
): { readonly start: number; readonly end: number } | "unsatisfiable" | undefined => {
  const m = /^bytes=(\d*)-(\d*)$/u.exec(header?.trim() ?? "")
  if (m === null || (m[1] === "" && m[2] === "")) return undefined
  if (m[1] === "") {
    const suffix = Number(m[2])
    return suffix === 0 ? "unsatisfiable" : { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(m[1])
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (start >= size || end < start) return "unsatisfiable"
  return { start, end }
}

export const reportReadRoutes = [
  route({
    method: "get",
    path: "/v1/interviews/:id/report",
    operationId: "getReport",
    summary: "The interview report: answers with rubric scores and evidence, signals, overall score, reviews",
    tags: ["reports"],
    access: "apiKey",
    responses: { 200: { description: "The report (provisional until `complete`)", schema: Report } },
    handle: (request) =>
      Effect.gen(function* () {
        const report = yield* buildFor(request.principal.tenantId, request.params.id!)
        yield* audit(request, "report.read", report.interviewId)
        return json(200, report)
      })
  }),
  route({
    method: "get",
    path: "/v1/interviews/:id/report.html",
    operationId: "getReportPage",
    summary: "The interview report as a self-contained HTML page",
    tags: ["reports"],
    access: "apiKey",
    responses: { 200: { description: "HTML page", contentType: "text/html" } },
    handle: (request) =>
      Effect.gen(function* () {
        const report = yield* buildFor(request.principal.tenantId, request.params.id!)
        yield* audit(request, "report.html.read", report.interviewId)
        return {
          status: 200,
          body: reportHtml(report),
          contentType: "text/html; charset=utf-8",
          headers: { "content-security-policy": pagePolicy, "cache-control": "no-store" }
        }
      })
  }),
  route({
    method: "get",
    path: "/v1/interviews/:id/media/:kind/:name",
    operationId: "getMedia",
    summary: "A media object of the interview (keyframe, heat-map) linked from its report",
    tags: ["reports"],
    access: "apiKey",
    responses: {
      200: { description: "The object's bytes", contentType: "application/octet-stream" },
      206: {
        description: "The bytes of one `Range: bytes=<first>-<last>` (video players seek this way)",
        contentType: "application/octet-stream"
      }
    },
    handle: (request) =>
      Effect.gen(function* () {
        const { params, principal } = request
        const interview = yield* requireInterview(principal.tenantId, params.id!)
        const media = yield* MediaStore
        const object = yield* media
          .get(`${interview.id}/${params.kind}/${params.name}`)
          .pipe(
            Effect.catchTag("MediaStoreError", (e) =>
              e.message === "invalid media key"
                ? Effect.succeed(Option.none())
                : Effect.fail(ApiError.unavailable("media store unavailable; retry shortly"))
            )
          )
        if (Option.isNone(object)) return yield* ApiError.notFound("media object")
        const { bytes, contentType } = object.value
        const range = byteRange(request.headers.range, bytes.byteLength)
        // A video element reads its recording in many ranges: the read is audited once, at its start.
        if (range === undefined || range === "unsatisfiable" || range.start === 0)
          yield* audit(request, "media.read", interview.id, { key: `${params.kind}/${params.name}` })
        const headers = { "cache-control": "private, max-age=3600", "accept-ranges": "bytes" }
        if (range === "unsatisfiable")
          return {
            status: 416,
            body: "",
            contentType,
            headers: { ...headers, "content-range": `bytes */${bytes.byteLength}` }
          }
        if (range === undefined) return { status: 200, body: bytes, contentType, headers }
        return {
          status: 206,
          body: bytes.subarray(range.start, range.end + 1),
          contentType,
          headers: { ...headers, "content-range": `bytes ${range.start}-${range.end}/${bytes.byteLength}` }
        }
      })
  })
]

/** Every route of the answers-to-report feature: candidate answers, reports, media, reviews. */
export const reportRoutes = [...answerRoutes, ...reportReadRoutes, ...reviewRoutes]
