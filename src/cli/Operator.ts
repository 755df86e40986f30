/**
 * The operator verbs (`migrate`, `seed`, `backup`, `user invite`). On embedded defaults the database belongs to one process, so
 * while a server runs on the data directory they ask it over loopback (admin route, with the token it keeps in its
 * lock); otherwise they open the database themselves.
 */
import { Cause, Effect, Exit, Layer } from "effect"
import * as Fs from "node:fs"
import type { CreatedKey, CreatedTenant, TenantSettings } from "../../schemas/Tenancy.ts"
import { euAffectRefusal } from "../../schemas/Tenancy.ts"
import { AppConfig, type AppSettings } from "../config.ts"
import { JoinTokens } from "../http/JoinTokens.ts"
import { storageLayer } from "../main.ts"
import { seedDemo } from "../Seed.ts"
import { invite, type OneTimeLink } from "../accounts/Accounts.ts"
import type { Role } from "../store/Tenants.ts"
import { UserExists } from "../store/Users.ts"
import { backup as backupTables } from "../store/Backup.ts"
import * as Database from "../store/Database.ts"
import * as EmbeddedLock from "../store/EmbeddedLock.ts"
import { runMigrations } from "../store/Migrations.ts"
import {
  createKey,
  createTenant,
  EuAffectRefused,
  KeyNotFound,
  listKeys,
  listTenants,
  operatorActor,
  revokeKey,
  TenantNotFound,
  keyItem
} from "../TenantAdmin.ts"
import { loadSettings, withLogLevel } from "./Settings.ts"

type Storage = Layer.Success<typeof storageLayer> | JoinTokens

/** Runs an operator effect directly against the database (no server holds it). */
const direct = async <A>(settings: AppSettings, effect: Effect.Effect<A, unknown, Storage>, migrated: boolean) => {
  const config = AppConfig.layerFromRecord(process.env)
  const layer = (
    migrated
      ? Layer.mergeAll(storageLayer, JoinTokens.layer)
      : (Database.layerClient as unknown as Layer.Layer<Storage, unknown, AppConfig>)
  ).pipe(Layer.provideMerge(config))
  const scoped = Effect.scoped(
    Effect.gen(function* () {
      if (settings.databaseUrl === undefined && settings.pgliteDir !== ":memory:") {
        yield* EmbeddedLock.acquire(settings.dataDir)
      }
      return yield* effect.pipe(Effect.provide(layer))
    })
  )
  return Effect.runPromiseExit(scoped.pipe(Effect.provide(withLogLevel({ ...settings, logLevel: "Warn" }))))
}

/** An operator route: POST without a body unless said otherwise. */
interface RemoteCall {
  readonly path: string
  readonly method?: "GET" | "POST" | "DELETE"
  readonly body?: unknown
}

/** The message of the server's `{error: {message}}` answer, or its text. */
const remoteError = (text: string) => {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message
    return typeof message === "string" ? message : text
  } catch {
    return text
  }
}

/** Asks the running server that owns the embedded database, if there is one; `undefined` when there is none. */
const viaServer = async (
  settings: AppSettings,
  call: RemoteCall,
  as: "json" | "text"
): Promise<unknown | undefined> => {
  if (settings.databaseUrl !== undefined || settings.pgliteDir === ":memory:") return undefined
  const holder = EmbeddedLock.readLock(settings.dataDir)
  if (holder === undefined) return undefined
  if (holder.url === null) {
    throw new Error(`a Candor server (pid ${holder.pid}) is starting on this data directory; try again in a moment`)
  }
  const response = await fetch(`${holder.url}${call.path}`, {
    method: call.method ?? "POST",
    headers: {
      authorization: `Bearer ${holder.adminToken}`,
      ...(call.body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) })
  })
  if (response.status === 404 || response.status === 409) throw new Error(remoteError(await response.text()))
  if (!response.ok)
    throw new Error(`the running server (pid ${holder.pid}) answered ${response.status}: ${await response.text()}`)
  if (response.status === 204) return null
  return as === "json" ? response.json() : response.text()
}

interface OperatorOptions<A> {
  /** Shows the result (run here, or the running server's JSON answer). */
  readonly print: (value: A) => void
  /** Shows the running server's answer as text instead of parsing it as JSON (streamed output). */
  readonly printRemote?: (text: string) => void
  /** `migrate` reports what it applies, so it gets a client that has not migrated on its own. */
  readonly migrated?: boolean
}

/** A refusal an operator command explains in one line (no trace). */
export class OperatorRefusal extends Error {
  readonly _tag = "OperatorRefusal"
}

/** Runs an operator command through the running server when it owns the embedded database, else directly. */
const operator = async <A>(
  call: string | RemoteCall,
  effect: Effect.Effect<A, unknown, Storage> | ((settings: AppSettings) => Effect.Effect<A, unknown, Storage>),
  options: OperatorOptions<A>
): Promise<number> => {
  const settings = await loadSettings()
  if (settings === undefined) return 2
  try {
    const remote = await viaServer(
      settings,
      typeof call === "string" ? { path: call } : call,
      options.printRemote === undefined ? "json" : "text"
    )
    if (remote !== undefined) {
      if (options.printRemote === undefined) options.print(remote as A)
      else options.printRemote(remote as string)
      return 0
    }
  } catch (e) {
    console.error(`candor: ${e instanceof Error ? e.message : String(e)}`)
    return 1
  }
  const exit = await direct(
    settings,
    typeof effect === "function" ? effect(settings) : effect,
    options.migrated ?? true
  )
  if (Exit.isSuccess(exit)) {
    options.print(exit.value)
    return 0
  }
  const busy = Cause.findErrorOption(exit.cause)
  const plain =
    busy._tag === "Some" &&
    (busy.value instanceof EmbeddedLock.EmbeddedDatabaseBusy ||
      busy.value instanceof TenantNotFound ||
      busy.value instanceof KeyNotFound ||
      busy.value instanceof EuAffectRefused ||
      busy.value instanceof OperatorRefusal)
  console.error(`candor: ${plain ? (busy.value as Error).message : Cause.pretty(exit.cause)}`)
  return 1
}

export const migrate = (): Promise<number> =>
  operator(
    "/internal/migrate",
    Effect.map(runMigrations, (applied) => ({ applied: applied.map(([id, name]) => `${id}_${name}`) })),
    {
      print: (r) =>
        console.log(r.applied.length === 0 ? "migrations: up to date" : `migrations applied: ${r.applied.join(", ")}`),
      migrated: false
    }
  )

export const seed = (options: { readonly json: boolean }): Promise<number> =>
  operator("/internal/seed", seedDemo(), {
    print: (r) => {
      if (options.json) console.log(JSON.stringify(r))
      else
        console.log(
          `tenant:          ${r.tenantId}\nAPI key:         ${r.apiKey}\ninterview:       ${r.interviewId}\ncandidate token: ${r.candidateToken}`
        )
    }
  })

/** Writes to `out` (stdout when unset); the summary goes to stderr so that stdout stays pure SQL. */
export const backup = async (options: { readonly out: string | undefined }): Promise<number> => {
  const { out } = options
  const sink = out === undefined ? process.stdout : Fs.createWriteStream(out)
  const finish = () => new Promise<void>((resolve) => (out === undefined ? resolve() : sink.end(resolve)))
  const code = await operator(
    "/internal/backup",
    backupTables((chunk) => sink.write(chunk)),
    {
      printRemote: (remote) => sink.write(remote),
      print: (summary) =>
        console.error(
          `candor backup: ${summary.tables} tables, ${summary.rows} rows${out === undefined ? "" : ` → ${out}`}`
        )
    }
  )
  await finish()
  return code
}

/** Lines of aligned columns, the header first. */
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}

export interface TenantCreateOptions {
  readonly name: string
  readonly region: "eu" | "us" | "other"
  readonly affect: "on" | "off" | undefined
  readonly json: boolean
}

/** `candor tenant create`: a tenant and its first admin key. Affect on for an EU tenant is refused (exit 2). */
export const tenantCreate = async (options: TenantCreateOptions): Promise<number> => {
  if (options.region === "eu" && options.affect === "on") {
    console.error(`candor: ${euAffectRefusal}`)
    return 2
  }
  const input = {
    name: options.name,
    region: options.region,
    ...(options.affect === undefined ? {} : { affect: options.affect === "on" })
  }
  return operator<CreatedTenant>(
    { path: "/internal/tenants", body: input },
    Effect.map(createTenant(input), (r) => ({ tenantId: r.tenant.id, apiKey: r.apiKey })),
    {
      print: (r) =>
        console.log(options.json ? JSON.stringify(r) : `tenant:          ${r.tenantId}\nadmin API key:   ${r.apiKey}`)
    }
  )
}

/** `candor tenant list`. */
export const tenantList = (options: { readonly json: boolean }): Promise<number> =>
  operator<{ items: ReadonlyArray<TenantSettings> }>(
    { path: "/internal/tenants", method: "GET" },
    Effect.map(listTenants, (items) => ({ items })),
    {
      print: ({ items }) =>
        console.log(
          options.json
            ? JSON.stringify(items)
            : table(
                ["ID", "NAME", "REGION", "AFFECT", "RETENTION", "CREATED"],
                items.map((t) => [t.id, t.name, t.region, t.affectPolicy, `${t.retentionDays}d`, t.createdAt])
              )
        )
    }
  )

export interface KeyCreateOptions {
  readonly tenant: string
  readonly role: "admin" | "recruiter" | "reader"
  readonly label: string
  readonly json: boolean
}

/** `candor key create`: the secret is printed once. */
export const keyCreate = (options: KeyCreateOptions): Promise<number> =>
  operator<CreatedKey>(
    { path: "/internal/keys", body: { tenantId: options.tenant, role: options.role, label: options.label } },
    createKey(options.tenant, options.role, options.label, operatorActor),
    {
      print: (r) =>
        console.log(
          options.json
            ? JSON.stringify({ keyId: r.keyId, apiKey: r.apiKey })
            : `key:     ${r.keyId}\nrole:    ${r.role}\nAPI key: ${r.apiKey}`
        )
    }
  )

/** `candor key list`: never the secrets, only their first characters. */
export const keyList = (options: { readonly tenant: string; readonly json: boolean }): Promise<number> =>
  operator<{ items: ReadonlyArray<ReturnType<typeof keyItem>> }>(
    { path: `/internal/keys?tenant=${encodeURIComponent(options.tenant)}`, method: "GET" },
    Effect.map(listKeys(options.tenant), (keys) => ({ items: keys.map(keyItem) })),
    {
      print: ({ items }) =>
        console.log(
          options.json
            ? JSON.stringify(items)
            : table(
                ["ID", "ROLE", "LABEL", "PREFIX", "CREATED", "REVOKED"],
                items.map((k) => [k.id, k.role, k.label, `${k.prefix}…`, k.createdAt, k.revokedAt ?? "-"])
              )
        )
    }
  )

/** `candor key revoke`: the key is refused from its next request on. */
export const keyRevoke = (keyId: string): Promise<number> =>
  operator<unknown>(
    { path: `/internal/keys/${encodeURIComponent(keyId)}`, method: "DELETE" },
    revokeKey(keyId, operatorActor),
    { print: () => console.log(`key ${keyId} revoked`) }
  )

/** `candor user invite`: a one-time link for a person to set their password (printed: there is no mail server). */
export const userInvite = (options: {
  readonly tenant: string
  readonly email: string
  readonly role: Role
  readonly json: boolean
}): Promise<number> =>
  operator<OneTimeLink>(
    { path: "/internal/users/invite", body: { tenantId: options.tenant, email: options.email, role: options.role } },
    (settings) =>
      invite({
        tenantId: options.tenant,
        email: options.email,
        role: options.role,
        linkBase: settings.publicUrl ?? `http://${settings.host}:${settings.port}`,
        actor: "operator"
      }).pipe(
        Effect.mapError((e) =>
          e instanceof UserExists || e instanceof TenantNotFound ? new OperatorRefusal(e.message) : e
        )
      ),
    {
      print: (r) => {
        if (options.json) console.log(JSON.stringify(r))
        else
          console.log(
            `user:     ${r.userId} (${r.email}, ${r.role})\nlink:     ${r.link}\ntoken:    ${r.token}\nexpires:  ${r.expiresAt}`
          )
      }
    }
  )
