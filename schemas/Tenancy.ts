/**
 * Wire types of tenant administration: the tenant's settings (`/v1/tenant`), its API keys (`/v1/keys`) and the
 * operator's tenant and key commands (`candor tenant`, `candor key`).
 */
import { Schema } from "effect"

export const Region = Schema.Literals(["eu", "us", "other"]).annotate({
  description: "Where the tenant hires. EU tenants can never turn affect signals on (EU AI Act, art. 5(1)(f))."
})

export const AffectPolicy = Schema.Literals(["enabled", "disabled"]).annotate({
  description: "Whether emotion and blink signals are computed for new interviews; always `disabled` in the EU."
})

export const Role = Schema.Literals(["reader", "recruiter", "admin"]).annotate({
  description:
    "`reader` reads interviews and reports; `recruiter` also creates interviews, reviews and decides; `admin` also manages the tenant, its keys and reads the audit log."
})

const Weight = Schema.Number.check(
  Schema.makeFilter((w: number) => (Number.isFinite(w) && w >= 0) || "weights must be finite numbers ≥ 0", {
    toJsonSchema: () => ({ minimum: 0 })
  })
)

export const ScoreWeights = Schema.Struct({
  answers: Schema.optionalKey(Weight),
  attention: Schema.optionalKey(Weight),
  emotion: Schema.optionalKey(Weight),
  blinks: Schema.optionalKey(Weight)
}).annotate({
  title: "ScoreWeights",
  description:
    "Weights of the overall score's signals; they replace the defaults as a whole (a signal not named weighs 0). `{}` restores the defaults."
})

const NonEmpty = (field: string, max: number) =>
  Schema.String.check(
    Schema.makeFilter((s: string) => s.trim().length > 0 || `${field} must not be empty`, {
      toJsonSchema: () => ({ minLength: 1 })
    }),
    Schema.isMaxLength(max, { message: `${field} must be at most ${max} characters` })
  )

export const TenantName = NonEmpty("name", 200)

export const RetentionDays = Schema.Number.check(
  Schema.isInt({ message: "retentionDays must be an integer" }),
  Schema.isGreaterThanOrEqualTo(1, { message: "retentionDays must be at least 1" }),
  Schema.isLessThanOrEqualTo(36_500, { message: "retentionDays must be at most 36500" })
).annotate({ description: "Days an interview is kept after it ends, then erased (default 180, at least 1)." })

export const TenantSettings = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  region: Region,
  affectPolicy: AffectPolicy,
  scoreWeights: Schema.Record(Schema.String, Schema.Number),
  retentionDays: Schema.Number,
  noticeText: Schema.String.annotate({ description: "The notice candidates are shown before they consent." }),
  noticeVersion: Schema.String.annotate({ description: "Version of the notice; consents record the one they saw." }),
  privacyContact: Schema.String.annotate({
    description: "Where candidates write about their data (an email address or URL; empty when not set)."
  }),
  createdAt: Schema.String
}).annotate({ title: "Tenant" })
export type TenantSettings = typeof TenantSettings.Type

export const UpdateTenantRequest = Schema.Struct({
  name: Schema.optionalKey(TenantName),
  affectPolicy: Schema.optionalKey(AffectPolicy),
  scoreWeights: Schema.optionalKey(ScoreWeights),
  retentionDays: Schema.optionalKey(RetentionDays),
  noticeText: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(20_000, { message: "noticeText must be at most 20000 characters" }))
  ),
  noticeVersion: Schema.optionalKey(NonEmpty("noticeVersion", 50)),
  privacyContact: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(320, { message: "privacyContact must be at most 320 characters" }))
  )
}).annotate({ title: "UpdateTenantRequest" })
export type UpdateTenantRequest = typeof UpdateTenantRequest.Type

export const ApiKey = Schema.Struct({
  id: Schema.String,
  prefix: Schema.String.annotate({ description: "The key's first characters, to recognise it by; never the secret." }),
  label: Schema.String,
  role: Role,
  createdAt: Schema.String,
  revokedAt: Schema.NullOr(Schema.String)
}).annotate({ title: "ApiKey" })

export const ApiKeyList = Schema.Struct({ items: Schema.Array(ApiKey) }).annotate({ title: "ApiKeyList" })

export const CreateKeyRequest = Schema.Struct({
  role: Role,
  label: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(200, { message: "label must be at most 200 characters" }))
  )
}).annotate({ title: "CreateKeyRequest" })

export const CreatedKey = Schema.Struct({
  keyId: Schema.String,
  apiKey: Schema.String.annotate({ description: "The secret: shown here once, stored only as a hash." }),
  role: Role
}).annotate({ title: "CreatedKey" })
export type CreatedKey = typeof CreatedKey.Type

/** `candor tenant create`, through the operator route. */
export const CreateTenantCommand = Schema.Struct({
  name: TenantName,
  region: Region,
  affect: Schema.optionalKey(Schema.Boolean)
})
export type CreateTenantCommand = typeof CreateTenantCommand.Type

export const CreatedTenant = Schema.Struct({ tenantId: Schema.String, apiKey: Schema.String })
export type CreatedTenant = typeof CreatedTenant.Type

export const TenantList = Schema.Struct({ items: Schema.Array(TenantSettings) })
export type TenantList = typeof TenantList.Type

/** `candor key create`, through the operator route. */
export const CreateKeyCommand = Schema.Struct({
  tenantId: Schema.String,
  role: Role,
  label: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200)))
})
export type CreateKeyCommand = typeof CreateKeyCommand.Type

/** Why an EU tenant cannot have affect signals: the one message the CLI and the API give. */
export const euAffectRefusal =
  "affect signals cannot be turned on for an EU tenant: the EU AI Act (art. 5(1)(f)) bans emotion inference in the workplace, hiring included"
