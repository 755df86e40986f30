/**
 * The operator verbs (`migrate`, `seed`, `backup`, `user invite`). On embedded defaults the database belongs to one process, so
 * while a server runs on the data directory they ask it over loopback (admin route, with the token it keeps in its
 * lock); otherwise they open the database themselves.
 */
import { Cause, Effect, Exit, Layer } from "effect"
import * as Fs from "node:fs"
import { AppConfig, type AppSettings } from "../config.ts"
import { JoinTokens } from "../http/JoinTokens.ts"
import { storageLayer } from "../main.ts"
import { seedDemo } from "../Seed.ts"
import { invite, type OneTimeLink, TenantNotFound } from "../accounts/Accounts.ts"
import type { Role } from "../store/Tenants.ts"
import { UserExists } from "../store/Users.ts"
import { backup as backupTables } from "../store/Backup.ts"
import * as Database from "../store/Database.ts"
import * as EmbeddedLock from "../store/EmbeddedLock.ts"
import { runMigrations } from "../store/Migrations.ts"
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

/** Asks the running server that owns the embedded database, if there is one; `undefined` when there is none. */
const viaServer = async (
  settings: AppSettings,
  path: string,
  as: "json" | "text",
  body?: unknown
): Promise<unknown | undefined> => {
  if (settings.databaseUrl !== undefined || settings.pgliteDir === ":memory:") return undefined
  const holder = EmbeddedLock.readLock(settings.dataDir)
  if (holder === undefined) return undefined
  if (holder.url === null) {
    throw new Error(`a Candor server (pid ${holder.pid}) is starting on this data directory; try again in a moment`)
  }
  const response = await fetch(`${holder.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${holder.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  if (!response.ok)
    throw new Error(`the running server (pid ${holder.pid}) answered ${response.status}: ${await response.text()}`)
  return as === "json" ? response.json() : response.text()
}

interface OperatorOptions<A> {
  /** Shows the result (run here, or the running server's JSON answer). */
  readonly print: (value: A) => void
  /** Shows the running server's answer as text instead of parsing it as JSON (streamed output). */
  readonly printRemote?: (text: string) => void
  /** `migrate` reports what it applies, so it gets a client that has not migrated on its own. */
  readonly migrated?: boolean
  /** JSON body sent to the running server. */
  readonly body?: unknown
}

/** A refusal an operator command explains in one line (no trace). */
export class OperatorRefusal extends Error {
  readonly _tag = "OperatorRefusal"
}

/** Runs an operator command through the running server when it owns the embedded database, else directly. */
const operator = async <A>(
  path: string,
  effect: Effect.Effect<A, unknown, Storage> | ((settings: AppSettings) => Effect.Effect<A, unknown, Storage>),
  options: OperatorOptions<A>
): Promise<number> => {
  const settings = await loadSettings()
  if (settings === undefined) return 2
  try {
    const remote = await viaServer(settings, path, options.printRemote === undefined ? "json" : "text", options.body)
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
  console.error(
    `candor: ${busy._tag === "Some" && (busy.value instanceof EmbeddedLock.EmbeddedDatabaseBusy || busy.value instanceof OperatorRefusal) ? busy.value.message : Cause.pretty(exit.cause)}`
  )
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

/** `candor user invite`: a one-time link for a person to set their password (printed: there is no mail server). */
export const userInvite = (options: {
  readonly tenant: string
  readonly email: string
  readonly role: Role
  readonly json: boolean
}): Promise<number> =>
  operator<OneTimeLink>(
    "/internal/users/invite",
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
      body: { tenantId: options.tenant, email: options.email, role: options.role },
      print: (r) => {
        if (options.json) console.log(JSON.stringify(r))
        else
          console.log(
            `user:     ${r.userId} (${r.email}, ${r.role})\nlink:     ${r.link}\ntoken:    ${r.token}\nexpires:  ${r.expiresAt}`
          )
      }
    }
  )
