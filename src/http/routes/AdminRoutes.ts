/**
 * Operator routes for `candor seed`, `candor migrate`, `candor backup` and `candor user invite` while a server holds the embedded
 * database (PGlite is one process). Loopback only, with the admin token the server wrote into its data directory;
 * not in OpenAPI. What seeding creates is the composition root's business: it passes the operation in.
 */
import { Effect, Schema } from "effect"
import { InviteCommandRequest, OneTimeLink } from "../../../schemas/Accounts.ts"
import { SeedResult } from "../../../schemas/Api.ts"
import { invite, TenantNotFound } from "../../accounts/Accounts.ts"
import { backup } from "../../store/Backup.ts"
import { runMigrations } from "../../store/Migrations.ts"
import { ApiError } from "../ApiError.ts"
import { json, route } from "../Route.ts"
import { tenantOperatorRoutes } from "./TenantRoutes.ts"
import { HttpServer } from "../Server.ts"
import { UserExists } from "../../store/Users.ts"

const MigrateResult = Schema.Struct({ applied: Schema.Array(Schema.String) })

export interface AdminOperations<R> {
  /** Creates the demo tenant, key, interview and candidate token (`candor seed`). */
  readonly seed: () => Effect.Effect<SeedResult, unknown, R>
}

/** The operator routes, seeding with `operations.seed`. */
export const adminRoutesWith = <R>(operations: AdminOperations<R>) => [
  route({
    method: "post",
    path: "/internal/seed",
    operationId: "seed",
    summary: "Create the demo tenant, key, interview and candidate token",
    tags: ["operator"],
    access: "admin",
    hidden: true,
    responses: { 200: { description: "Seeded", schema: SeedResult } },
    handle: () =>
      operations.seed().pipe(
        Effect.map((r) => json(200, r)),
        Effect.mapError(() => ApiError.unavailable("database unavailable"))
      )
  }),
  route({
    method: "post",
    path: "/internal/migrate",
    operationId: "migrate",
    summary: "Apply pending migrations",
    tags: ["operator"],
    access: "admin",
    hidden: true,
    responses: { 200: { description: "Applied", schema: MigrateResult } },
    handle: () =>
      runMigrations.pipe(
        Effect.map((applied) => json(200, { applied: applied.map(([id, name]) => `${id}_${name}`) })),
        Effect.mapError((e) => ApiError.unavailable(`migration failed: ${e.message}`))
      )
  }),
  route({
    method: "post",
    path: "/internal/backup",
    operationId: "backup",
    summary: "Export every table as a data-only SQL script",
    tags: ["operator"],
    access: "admin",
    hidden: true,
    responses: { 200: { description: "SQL script", contentType: "application/sql" } },
    handle: () =>
      Effect.gen(function* () {
        const chunks: Array<string> = []
        yield* backup((chunk) => chunks.push(chunk))
        return { status: 200, body: chunks.join(""), contentType: "application/sql; charset=utf-8" }
      }).pipe(Effect.mapError(() => ApiError.unavailable("database unavailable")))
  }),
  ...tenantOperatorRoutes,
  route({
    method: "post",
    path: "/internal/users/invite",
    operationId: "inviteUserAsOperator",
    summary: "Invite a person into a tenant with a role (`candor user invite`)",
    tags: ["operator"],
    access: "admin",
    hidden: true,
    body: InviteCommandRequest,
    responses: { 201: { description: "Invited", schema: OneTimeLink } },
    handle: ({ body }) =>
      Effect.gen(function* () {
        const server = yield* HttpServer
        const link = yield* invite({ ...body, linkBase: server.publicUrl, actor: "operator" }).pipe(
          Effect.mapError((e) =>
            e instanceof UserExists
              ? ApiError.conflict(e.message)
              : e instanceof TenantNotFound
                ? ApiError.notFound("tenant")
                : ApiError.unavailable("database unavailable")
          )
        )
        return json(201, link)
      })
  })
]
