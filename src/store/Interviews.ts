/**
 * Interviews and their questions. Every read takes the tenant id, so one tenant can never see another's interview:
 * the check lives in the query, not in each route.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { CreateInterviewRequest, Interview, InterviewSummary } from "../../schemas/Api.ts"
import { decodeCursor, encodeCursor, fromJson, isId, newId, toIso, toIsoOrNull } from "./Rows.ts"

export type InterviewStatus = Interview["status"]

export interface ListOptions {
  readonly limit: number
  readonly cursor?: string | undefined
  readonly status?: InterviewStatus | undefined
}

export interface InterviewPageResult {
  readonly items: ReadonlyArray<InterviewSummary>
  readonly nextCursor: string | null
}

/** An interview as the engine sees it: with its tenant, which the recruiter API never shows. */
export interface InterviewRecord extends Interview {
  readonly tenantId: string
}

export class InvalidCursor extends Error {
  readonly _tag = "InvalidCursor"
}

export interface InterviewsShape {
  readonly create: (
    tenantId: string,
    input: CreateInterviewRequest,
    affectEnabled: boolean
  ) => Effect.Effect<InterviewRecord, SqlError>
  readonly get: (tenantId: string, id: string) => Effect.Effect<Option.Option<InterviewRecord>, SqlError>
  /** For the candidate socket, whose join token names the tenant. */
  readonly getById: (id: string) => Effect.Effect<Option.Option<InterviewRecord>, SqlError>
  readonly list: (
    tenantId: string,
    options: ListOptions
  ) => Effect.Effect<InterviewPageResult, SqlError | InvalidCursor>
  /** Erases the interview and everything about it (answers, scores, media index, reports, reviews, consents). */
  readonly erase: (tenantId: string, id: string) => Effect.Effect<boolean, SqlError>
}

export class Interviews extends Context.Service<Interviews, InterviewsShape>()("candor/Interviews") {
  static readonly layer = Layer.effect(
    Interviews,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const load = (row: any) =>
        sql`SELECT * FROM questions WHERE interview_id = ${row.id} ORDER BY position`.pipe(
          Effect.map(
            (questions): InterviewRecord => ({
              id: row.id,
              tenantId: row.tenant_id,
              candidate: { name: row.candidate_name, email: row.candidate_email ?? null },
              status: row.status,
              affectSignals: row.affect_enabled,
              mode: row.mode ?? "live",
              questions: questions.map((q: any) => ({
                id: q.id,
                index: q.position,
                prompt: q.prompt,
                rubric: q.rubric === null ? null : fromJson(q.rubric),
                expectedPoints: fromJson(q.expected_points)
              })),
              createdAt: toIso(row.created_at),
              startedAt: toIsoOrNull(row.started_at),
              finishedAt: toIsoOrNull(row.finished_at)
            })
          )
        )

      const getWhere = (id: string, tenantId: string | undefined) =>
        isId(id)
          ? (tenantId === undefined
              ? sql`SELECT * FROM interviews WHERE id = ${id}`
              : sql`SELECT * FROM interviews WHERE id = ${id} AND tenant_id = ${tenantId}`
            ).pipe(
              Effect.flatMap((rows) =>
                rows[0] === undefined ? Effect.succeed(Option.none()) : Effect.map(load(rows[0]), Option.some)
              )
            )
          : Effect.succeed(Option.none())

      return {
        create: (tenantId, input, affectEnabled) =>
          Effect.gen(function* () {
            const id = newId()
            yield* sql`
              INSERT INTO interviews (id, tenant_id, candidate_name, candidate_email, affect_enabled, mode)
              VALUES (${id}, ${tenantId}, ${input.candidate.name.trim()}, ${input.candidate.email ?? null}, ${affectEnabled}, ${input.mode ?? "live"})`
            const rows = input.questions.map((q, position) => ({
              id: newId(),
              interview_id: id,
              position,
              prompt: q.prompt,
              rubric: q.rubric === undefined ? null : JSON.stringify(q.rubric),
              expected_points: JSON.stringify(q.expectedPoints ?? [])
            }))
            for (const q of rows) {
              yield* sql`
                INSERT INTO questions (id, interview_id, position, prompt, rubric, expected_points)
                VALUES (${q.id}, ${q.interview_id}, ${q.position}, ${q.prompt}, ${q.rubric}::jsonb, ${q.expected_points}::jsonb)`
            }
            const created = yield* getWhere(id, tenantId)
            return Option.getOrThrow(created)
          }).pipe(sql.withTransaction, Effect.withSpan("Interviews.create")),
        get: (tenantId, id) => getWhere(id, tenantId).pipe(Effect.withSpan("Interviews.get")),
        getById: (id) => getWhere(id, undefined).pipe(Effect.withSpan("Interviews.getById")),
        list: (tenantId, options) =>
          Effect.gen(function* () {
            const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor)
            if (options.cursor !== undefined && after === undefined) {
              return yield* Effect.fail(new InvalidCursor("cursor is not one this API returned"))
            }
            const fetch = options.limit + 1
            const rows = yield* sql`
              SELECT i.id, i.candidate_name, i.status, i.created_at, i.created_at::text AS created_at_text,
                     (SELECT count(*)::int FROM questions q WHERE q.interview_id = i.id) AS question_count
              FROM interviews i
              WHERE i.tenant_id = ${tenantId}
                ${options.status === undefined ? sql`` : sql`AND i.status = ${options.status}`}
                ${after === undefined ? sql`` : sql`AND (i.created_at, i.id) < (${after.at}::timestamptz, ${after.id})`}
              ORDER BY i.created_at DESC, i.id DESC
              LIMIT ${fetch}`
            const page = rows.slice(0, options.limit) as Array<any>
            const last = page[page.length - 1]
            return {
              items: page.map((r) => ({
                id: r.id,
                candidateName: r.candidate_name,
                status: r.status,
                questionCount: r.question_count,
                createdAt: toIso(r.created_at)
              })),
              nextCursor: rows.length > options.limit && last ? encodeCursor(last.created_at_text, last.id) : null
            }
          }).pipe(Effect.withSpan("Interviews.list")),
        erase: (tenantId, id) =>
          isId(id)
            ? sql`DELETE FROM interviews WHERE id = ${id} AND tenant_id = ${tenantId} RETURNING id`.pipe(
                Effect.map((rows) => rows.length > 0),
                Effect.withSpan("Interviews.erase")
              )
            : Effect.succeed(false)
      }
    })
  )
}
