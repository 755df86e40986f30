/**
 * `candor backup`: every table's rows as a data-only SQL script in pg_dump's plain format (COPY … FROM stdin), so
 * `psql` restores it into a database migrated to the same version, embedded or not. Tables come in foreign-key
 * order, rows in primary-key order, values in PostgreSQL's own text form (cast in the query), so the output is
 * stable and exact.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { knownMigrations } from "./Migrations.ts"

const MIGRATIONS_TABLE = "candor_migrations"

/** COPY text format: backslash, tab, newline and carriage return escaped; NULL is `\N`. */
const copyValue = (value: unknown): string =>
  value === null || value === undefined
    ? "\\N"
    : String(value).replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r")

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`

/** Parents before children, so a restore never violates a foreign key. */
const dependencyOrder = (tables: ReadonlyArray<string>, edges: ReadonlyArray<{ child: string; parent: string }>) => {
  const ordered: Array<string> = []
  const visiting = new Set<string>()
  const visit = (t: string) => {
    if (ordered.includes(t) || visiting.has(t)) return
    visiting.add(t)
    for (const e of edges) if (e.child === t && e.parent !== t) visit(e.parent)
    ordered.push(t)
  }
  for (const t of [...tables].sort()) visit(t)
  return ordered.filter((t) => tables.includes(t))
}

export interface BackupSummary {
  readonly tables: number
  readonly rows: number
}

/** Writes the script through `write` (chunk by chunk, so a large database never sits in memory at once). */
export const backup = (write: (chunk: string) => void) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const migrations = yield* knownMigrations
    const tables = (yield* sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> ${MIGRATIONS_TABLE}`).map(
      (r) => r.table_name
    )
    const edges = yield* sql<{ child: string; parent: string }>`
      SELECT tc.table_name AS child, ccu.table_name AS parent
      FROM information_schema.table_constraints tc
      JOIN information_schema.constraint_column_usage ccu
        ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema
      WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public'`
    write(
      [
        "--",
        "-- Candor backup: data only, PostgreSQL plain format.",
        `-- Schema version: ${migrations.map((m) => `${m.id}_${m.name}`).join(", ")}`,
        "-- Restore into an empty database migrated to the same version (`candor migrate`), then:",
        '--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f backup.sql',
        "--",
        "",
        "SET client_encoding = 'UTF8';",
        "SET standard_conforming_strings = on;",
        "BEGIN;",
        // Triggers that derive rows on insert (scoring jobs for new answers) stand down: the backup has those rows.
        "SELECT set_config('candor.restoring', 'on', true);",
        ""
      ].join("\n")
    )
    let rows = 0
    const ordered = dependencyOrder(tables, edges)
    for (const table of ordered) {
      const columns = (yield* sql<{ column_name: string }>`
        SELECT column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = ${table} ORDER BY ordinal_position`).map((c) => c.column_name)
      const select = columns.map((c) => `${quoteIdent(c)}::text`).join(", ")
      const data = yield* sql.unsafe<Record<string, unknown>>(
        `SELECT ${select} FROM public.${quoteIdent(table)} ORDER BY ${columns.map((_, i) => i + 1).join(", ")}`
      )
      write(`COPY public.${quoteIdent(table)} (${columns.map(quoteIdent).join(", ")}) FROM stdin;\n`)
      for (const row of data) write(`${columns.map((c) => copyValue(row[c])).join("\t")}\n`)
      write("\\.\n\n")
      rows += data.length
    }
    write("COMMIT;\n")
    return { tables: ordered.length, rows } satisfies BackupSummary
  }).pipe(Effect.withSpan("Backup.run"))
