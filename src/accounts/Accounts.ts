/**
 * What people's accounts do beyond storage, shared by the API and the command line: invitations and reset links
 * (one-time links, printed or returned: there is no mail server), each one audited in the name of who asked.
 */
import { Effect, Option } from "effect"
import { AuditLog } from "../store/AuditLog.ts"
import type { Role } from "../store/Tenants.ts"
import { Tenants } from "../store/Tenants.ts"
import { type User, Users } from "../store/Users.ts"
import { TenantNotFound } from "../TenantAdmin.ts"

export { TenantNotFound }

export const INVITE_TTL_SECONDS = 7 * 24 * 3600
export const RESET_TTL_SECONDS = 24 * 3600

export interface OneTimeLink {
  readonly userId: string
  readonly email: string
  readonly role: Role
  readonly token: string
  readonly link: string
  readonly expiresAt: string
}

/** `${base}/invite#token=…`: the token stays in the fragment, so it never reaches a server's logs. */
const linkOf = (base: string, kind: "invite" | "reset", token: string) =>
  `${base.replace(/\/+$/, "")}/${kind}#token=${encodeURIComponent(token)}`

const linkFor = (user: User, kind: "invite" | "reset", issued: { token: string; expiresAt: string }, base: string) => ({
  userId: user.id,
  email: user.email,
  role: user.role,
  token: issued.token,
  link: linkOf(base, kind, issued.token),
  expiresAt: issued.expiresAt
})

/** Invites a person into a tenant with a role; `actor` (who asked) is audited. */
export const invite = (input: {
  readonly tenantId: string
  readonly email: string
  readonly role: Role
  readonly linkBase: string
  readonly actor: string
}) =>
  Effect.gen(function* () {
    const tenant = yield* Effect.flatMap(Tenants, (t) => t.get(input.tenantId))
    if (Option.isNone(tenant)) return yield* Effect.fail(new TenantNotFound({ tenantId: input.tenantId }))
    const users = yield* Users
    const issued = yield* users.invite({
      tenantId: input.tenantId,
      email: input.email.trim(),
      role: input.role,
      ttlSeconds: INVITE_TTL_SECONDS
    })
    yield* Effect.flatMap(AuditLog, (a) =>
      a.record({
        tenantId: input.tenantId,
        actor: input.actor,
        action: "user.invite",
        subject: issued.user.id,
        detail: { role: input.role }
      })
    )
    return linkFor(issued.user, "invite", issued, input.linkBase) satisfies OneTimeLink
  })

/** A reset link for an enabled user of the tenant; none for anyone else. */
export const resetLink = (input: {
  readonly tenantId: string
  readonly userId: string
  readonly linkBase: string
  readonly actor: string
}) =>
  Effect.gen(function* () {
    const issued = yield* Effect.flatMap(Users, (u) => u.issueReset(input.tenantId, input.userId, RESET_TTL_SECONDS))
    if (Option.isNone(issued)) return Option.none<OneTimeLink>()
    yield* Effect.flatMap(AuditLog, (a) =>
      a.record({ tenantId: input.tenantId, actor: input.actor, action: "user.reset", subject: input.userId })
    )
    return Option.some(linkFor(issued.value.user, "reset", issued.value, input.linkBase))
  })
