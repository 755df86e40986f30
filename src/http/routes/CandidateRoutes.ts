/**
 * What the candidate page reads with the join token before the camera starts: the notice and what it covers (the
 * signals analysed, how long data is kept, who to write to), what the page may offer (declining affect signals,
 * spoken answers, recorded answers) and where the socket is.
 */
import { Effect, Option } from "effect"
import { CandidateView } from "../../../schemas/Api.ts"
import { defaults } from "../../answers/AnswersConfig.ts"
import { acceptedAudioTypes, Transcriber } from "../../answers/Transcriber.ts"
import { chunkBytes, RecordingUploads } from "../../recordings/RecordingUploads.ts"
import { Erasures } from "../../store/Erasures.ts"
import { Tenants } from "../../store/Tenants.ts"
import { ApiError } from "../ApiError.ts"
import { streamUrl } from "../PublicUrls.ts"
import { json, route } from "../Route.ts"
import { HttpServer } from "../Server.ts"
import { candidateInterview } from "./AnswerRoutes.ts"

export const candidateRoutes = [
  route({
    method: "get",
    path: "/v1/interviews/:id/candidate",
    operationId: "candidateView",
    summary: "Candidate: the notice, the signals analysed and what the candidate page may offer",
    tags: ["candidate"],
    access: "candidate",
    responses: { 200: { description: "What the candidate is shown before consenting", schema: CandidateView } },
    handle: ({ params, headers }) =>
      Effect.gen(function* () {
        const interview = yield* candidateInterview(headers, params.id!).pipe(
          Effect.catchIf(
            (e) => e.status === 404,
            (e) =>
              // A valid link to an interview that was erased: the page can say so, not just "not found".
              Effect.flatMap(
                Effect.orElseSucceed(
                  Effect.flatMap(Erasures, (x) => x.tombstone(params.id!)),
                  Option.none
                ),
                (t) =>
                  Effect.fail(
                    Option.isSome(t)
                      ? new ApiError({ status: 404, code: "erased", message: "this interview was erased" })
                      : e
                  )
              )
          )
        )
        const tenant = yield* Effect.flatMap(Tenants, (t) => t.get(interview.tenantId)).pipe(
          Effect.mapError(() => ApiError.unavailable("database unavailable; retry shortly")),
          Effect.flatMap(
            Option.match({ onNone: () => Effect.fail(ApiError.notFound("interview")), onSome: Effect.succeed })
          )
        )
        const affect = interview.affectSignals && tenant.affectPolicy === "enabled"
        const transcriber = yield* Transcriber
        const server = yield* HttpServer
        const uploads = yield* RecordingUploads
        return json(200, {
          interviewId: interview.id,
          status: interview.status,
          questionCount: interview.questions.length,
          organisation: tenant.name,
          notice: { text: tenant.noticeText, version: tenant.noticeVersion },
          retentionDays: tenant.retentionDays,
          contact: tenant.privacyContact === "" ? null : tenant.privacyContact,
          signals: { face: true, emotion: affect, blinks: affect },
          affectDeclinable: affect,
          audioAnswers: transcriber.available,
          audioTypes: acceptedAudioTypes,
          maxAudioBytes: defaults.maxAudioBytes,
          mode: interview.mode,
          recording: { maxBytes: uploads.maxBytes, chunkBytes, transcribed: transcriber.available },
          streamUrl: streamUrl(server.publicUrl, interview.id)
        })
      })
  })
]
