/**
 * `candor tenant` and `candor key`: the operator creates tenants and runs their API keys. Like `seed`, they go
 * through the running server when it owns the embedded database, and straight to the database otherwise.
 */
import { Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { exitCode } from "./Verb.ts"

const json = Flag.Boolean("json").pipe(
  Flag.withoutNegation,
  Flag.withDefault(false),
  Flag.withDescription("print JSON instead of lines")
)

const tenantId = Flag.String("tenant").pipe(Flag.withMetavar("ID"), Flag.withDescription("the tenant's id"))

const create = Command.make(
  "create",
  {
    name: Flag.String("name").pipe(Flag.withMetavar("N"), Flag.withDescription("the tenant's name")),
    region: Flag.Literals("region", ["eu", "us", "other"]).pipe(
      Flag.withMetavar("eu|us|other"),
      Flag.withDescription("where it hires (EU tenants never have affect signals)")
    ),
    affect: Flag.Literals("affect", ["on", "off"]).pipe(
      Flag.withMetavar("on|off"),
      Flag.optional,
      Flag.withDescription("emotion and blink signals (default: on, off in the EU; on is refused for eu)")
    ),
    json
  },
  ({ name, region, affect, json }) =>
    exitCode(async () =>
      (await import("./Operator.ts")).tenantCreate({ name, region, affect: Option.getOrUndefined(affect), json })
    )
).pipe(Command.withDescription("create a tenant and its first admin API key (printed once)"))

const list = Command.make("list", { json }, ({ json }) =>
  exitCode(async () => (await import("./Operator.ts")).tenantList({ json }))
).pipe(Command.withDescription("list the tenants with their region, affect policy and retention"))

export const tenant = Command.make("tenant").pipe(
  Command.withDescription("create and list tenants"),
  Command.withSubcommands([create, list])
)

const keyCreate = Command.make(
  "create",
  {
    tenant: tenantId,
    role: Flag.Literals("role", ["admin", "recruiter", "reader"]).pipe(
      Flag.withMetavar("admin|recruiter|reader"),
      Flag.withDefault("reader" as const),
      Flag.withDescription(
        "reader reads; recruiter also creates interviews, reviews and decides; admin also runs the tenant and its keys (default reader)"
      )
    ),
    label: Flag.String("label").pipe(
      Flag.withMetavar("L"),
      Flag.withDefault(""),
      Flag.withDescription("what the key is for")
    ),
    json
  },
  ({ tenant, role, label, json }) =>
    exitCode(async () => (await import("./Operator.ts")).keyCreate({ tenant, role, label, json }))
).pipe(Command.withDescription("issue an API key for a tenant (the secret is printed once)"))

const keyList = Command.make("list", { tenant: tenantId, json }, ({ tenant, json }) =>
  exitCode(async () => (await import("./Operator.ts")).keyList({ tenant, json }))
).pipe(Command.withDescription("list a tenant's API keys, revoked ones included (never their secrets)"))

const keyRevoke = Command.make(
  "revoke",
  { keyId: Argument.String("KEY_ID").pipe(Argument.withDescription("the key's id (from key list)")) },
  ({ keyId }) => exitCode(async () => (await import("./Operator.ts")).keyRevoke(keyId))
).pipe(Command.withDescription("revoke an API key: it is refused from its next request on"))

export const key = Command.make("key").pipe(
  Command.withDescription("issue, list and revoke tenants' API keys"),
  Command.withSubcommands([keyCreate, keyList, keyRevoke])
)
