/**
 * Wire types of recruiter accounts: invitations, passwords, sessions and the tenant's users. People sign in as
 * themselves; API keys are for integrations.
 */
import { Schema } from "effect"

export const Role = Schema.Literals(["admin", "recruiter", "reader"]).annotate({
  description: "`admin` manages users and keys; `recruiter` runs interviews; `reader` reads."
})

const Email = Schema.String.check(
  Schema.isMaxLength(320, { message: "email must be at most 320 characters" }),
  Schema.isPattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/u, { message: "email must be an email address" })
)

export const InviteUserRequest = Schema.Struct({
  email: Email.annotate({ description: "The person's email address (unique in the tenant)." }),
  role: Role
}).annotate({ title: "InviteUserRequest" })

export const OneTimeLink = Schema.Struct({
  userId: Schema.String,
  email: Schema.String,
  role: Role,
  token: Schema.String.annotate({ description: "One-time token; shown here only." }),
  link: Schema.String.annotate({
    description: "Link to hand to the person (`…/invite#token=…` or `…/reset#token=…`)."
  }),
  expiresAt: Schema.String.annotate({ description: "When the link stops working (ISO 8601)." })
}).annotate({ title: "OneTimeLink" })

export const SetPasswordRequest = Schema.Struct({
  token: Schema.String.check(Schema.isMaxLength(200)).annotate({
    description: "The token of an invite or reset link."
  }),
  password: Schema.String.check(
    Schema.isMinLength(12, { message: "password must be at least 12 characters" }),
    Schema.isMaxLength(1024, { message: "password must be at most 1024 characters" })
  )
}).annotate({ title: "SetPasswordRequest" })

export const PasswordSignIn = Schema.Struct({
  email: Schema.String.check(Schema.isMaxLength(320)),
  password: Schema.String.check(Schema.isMaxLength(1024)),
  tenantId: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(100)).annotate({
      description: "Needed only when the same address has an account in several tenants."
    })
  )
}).annotate({ title: "PasswordSignIn" })

export const KeySignIn = Schema.Struct({
  apiKey: Schema.String.check(Schema.isMaxLength(200)).annotate({
    description: "A tenant API key: the browser gets a session cookie acting as the key, never the key itself."
  })
}).annotate({ title: "KeySignIn" })

export const SignInRequest = Schema.Union([PasswordSignIn, KeySignIn]).annotate({ title: "SignInRequest" })
export type SignInRequest = typeof SignInRequest.Type

export const Session = Schema.Struct({
  token: Schema.optionalKey(
    Schema.String.annotate({
      description:
        "Session token of a password sign-in: send it as `Authorization: Bearer <token>` (also set as an HttpOnly cookie). A key sign-in sets only the cookie."
    })
  ),
  expiresAt: Schema.String,
  userId: Schema.optionalKey(Schema.String),
  keyId: Schema.optionalKey(Schema.String),
  tenantId: Schema.String,
  role: Role,
  csrfToken: Schema.String.annotate({
    description: "Send it as the `x-csrf-token` header with every change made with the session cookie."
  })
}).annotate({ title: "Session" })

export const Me = Schema.Struct({
  tenantId: Schema.String,
  role: Role,
  actor: Schema.String.annotate({ description: "`user:<id>` for a person, `key:<id>` for an API key." }),
  userId: Schema.optionalKey(Schema.String),
  keyId: Schema.optionalKey(Schema.String),
  expiresAt: Schema.optionalKey(Schema.String.annotate({ description: "When the session ends." })),
  csrfToken: Schema.optionalKey(
    Schema.String.annotate({
      description: "When called with the session cookie: the `x-csrf-token` header value that changes need."
    })
  )
}).annotate({ title: "Me" })

export const User = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  role: Role,
  status: Schema.Literals(["invited", "active", "disabled"]),
  createdAt: Schema.String,
  disabledAt: Schema.NullOr(Schema.String)
}).annotate({ title: "User" })

export const UserList = Schema.Struct({ items: Schema.Array(User) }).annotate({ title: "UserList" })

export const InviteCommandRequest = Schema.Struct({
  tenantId: Schema.String,
  email: Email,
  role: Role
}).annotate({ title: "InviteCommandRequest" })
