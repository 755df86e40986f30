/** An admin's management of the tenant's people: invite (a one-time link), list, disable, reset link. */
import { Effect, Option } from "effect"
import { InviteUserRequest, OneTimeLink, User, UserList } from "../../../schemas/Accounts.ts"
import { ErrorBody } from "../../../schemas/Api.ts"
import { invite, resetLink, TenantNotFound } from "../../accounts/Accounts.ts"
import { isId } from "../../store/Rows.ts"
import { UserExists, Users } from "../../store/Users.ts"
import { ApiError } from "../ApiError.ts"
import { audit } from "../Audited.ts"
import { json, route } from "../Route.ts"
import { HttpServer } from "../Server.ts"

const dbUnavailable = () => ApiError.unavailable("database unavailable; retry shortly")

export const userRoutes = [
  route({
    method: "post",
    path: "/v1/users/invite",
    operationId: "inviteUser",
    summary: "Admin: invite a person with a role; returns a one-time link to hand them (no mail is sent)",
    tags: ["accounts"],
    access: "apiKey",
    role: "admin",
    body: InviteUserRequest,
    responses: {
      201: { description: "Invited", schema: OneTimeLink },
      403: { description: "Not an admin", schema: ErrorBody },
      409: { description: "The address already has an account in this tenant", schema: ErrorBody }
    },
    handle: ({ body, principal }) =>
      Effect.gen(function* () {
        const server = yield* HttpServer
        const link = yield* invite({
          tenantId: principal.tenantId,
          email: body.email,
          role: body.role,
          linkBase: server.publicUrl,
          actor: principal.actor
        }).pipe(
          Effect.mapError((e) =>
            e instanceof UserExists
              ? ApiError.conflict(e.message)
              : e instanceof TenantNotFound
                ? ApiError.unauthorized()
                : dbUnavailable()
          )
        )
        return json(201, link)
      })
  }),
  route({
    method: "get",
    path: "/v1/users",
    operationId: "listUsers",
    summary: "Admin: the tenant's users (no secrets)",
    tags: ["accounts"],
    access: "apiKey",
    role: "admin",
    responses: {
      200: { description: "Users, oldest first", schema: UserList },
      403: { description: "Not an admin", schema: ErrorBody }
    },
    handle: ({ principal }) =>
      Effect.gen(function* () {
        const items = yield* Effect.flatMap(Users, (u) => u.list(principal.tenantId)).pipe(
          Effect.mapError(dbUnavailable)
        )
        return json(200, { items })
      })
  }),
  route({
    method: "post",
    path: "/v1/users/:id/disable",
    operationId: "disableUser",
    summary: "Admin: disable a user; their sessions end at once",
    tags: ["accounts"],
    access: "apiKey",
    role: "admin",
    responses: {
      200: { description: "Disabled", schema: User },
      403: { description: "Not an admin", schema: ErrorBody }
    },
    handle: ({ params, principal, remote }) =>
      Effect.gen(function* () {
        const id = params.id!
        if (!isId(id)) return yield* Effect.fail(ApiError.notFound("user"))
        const user = yield* Effect.flatMap(Users, (u) => u.disable(principal.tenantId, id)).pipe(
          Effect.mapError(dbUnavailable)
        )
        if (Option.isNone(user)) return yield* Effect.fail(ApiError.notFound("user"))
        yield* audit({ principal, remote }, "user.disable", id)
        return json(200, user.value)
      })
  }),
  route({
    method: "post",
    path: "/v1/users/:id/reset",
    operationId: "resetUserPassword",
    summary: "Admin: a one-time link for a user to set a new password (no mail is sent)",
    tags: ["accounts"],
    access: "apiKey",
    role: "admin",
    responses: {
      201: { description: "Reset link", schema: OneTimeLink },
      403: { description: "Not an admin", schema: ErrorBody }
    },
    handle: ({ params, principal }) =>
      Effect.gen(function* () {
        const id = params.id!
        if (!isId(id)) return yield* Effect.fail(ApiError.notFound("user"))
        const server = yield* HttpServer
        const link = yield* resetLink({
          tenantId: principal.tenantId,
          userId: id,
          linkBase: server.publicUrl,
          actor: principal.actor
        }).pipe(Effect.mapError(dbUnavailable))
        if (Option.isNone(link)) return yield* Effect.fail(ApiError.notFound("user"))
        return json(201, link.value)
      })
  })
]
