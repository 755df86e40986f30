/**
 * Directory dependencies point one way. Reads every module of `src/` and `schemas/` with the TypeScript parser
 * (static imports, re-exports, dynamic `import()`, `import type` included) and fails on:
 *
 * - a module of `schemas/` importing from `src/` (schemas are the contract; the engine depends on them);
 * - a module of `src/reports/` importing from `src/http/` (reports are built without knowing how they are served);
 * - a module of `src/http/` importing `src/Seed.ts` (what a demo seed creates is the composition root's business);
 * - a module outside `src/store/` writing SQL: a `sql` tagged template, or importing the SQL client or driver.
 *
 * Exceptions are listed below, each with its reason; an exception that no longer excuses anything fails too, so
 * the list shrinks as the code is fixed.
 */
import { readdirSync, readFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import ts from "typescript"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../..")

type Rule = "schemas-import-src" | "reports-import-http" | "http-imports-seed" | "sql-outside-store"

interface Exception {
  readonly file: string
  readonly rule: Rule
  readonly why: string
}

const exceptions: ReadonlyArray<Exception> = [
  {
    file: "src/bench/ThrowawayDatabase.ts",
    rule: "sql-outside-store",
    why: "bench tooling, not the engine: it creates and drops whole databases on a Postgres server (CREATE/DROP DATABASE) for a bench run and touches no table of Candor's"
  }
]

interface SourceFile {
  /** Relative to the repository root, with `/`. */
  readonly file: string
  readonly text: string
}

interface Violation {
  readonly file: string
  readonly rule: Rule
  readonly detail: string
}

/** Modules whose import means SQL is written here. */
const sqlModules = [/^effect\/sql\/SqlClient$/u, /^@effect\/sql-pg(\/|$)/u]

interface Scan {
  readonly specifiers: ReadonlyArray<string>
  readonly sqlTemplates: number
}

const scan = (file: string, text: string): Scan => {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const specifiers: Array<string> = []
  let sqlTemplates = 0
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      specifiers.push(node.moduleSpecifier.text)
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression
      if (ts.isStringLiteral(expression)) specifiers.push(expression.text)
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text)
    } else if (ts.isTaggedTemplateExpression(node) && /(^|\.)sql$/u.test(node.tag.getText(source))) {
      sqlTemplates++
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return { specifiers, sqlTemplates }
}

/** The repository-relative path a relative specifier points at, or undefined for a package. */
const resolve = (file: string, specifier: string): string | undefined =>
  specifier.startsWith(".") ? Path.posix.normalize(Path.posix.join(Path.posix.dirname(file), specifier)) : undefined

const under = (file: string, dir: string) => file.startsWith(`${dir}/`)

/** Every layering violation in `files`, exceptions not applied. */
const violations = (files: ReadonlyArray<SourceFile>): Array<Violation> => {
  const out: Array<Violation> = []
  for (const { file, text } of files) {
    const { specifiers, sqlTemplates } = scan(file, text)
    for (const specifier of specifiers) {
      const target = resolve(file, specifier)
      if (under(file, "schemas") && target !== undefined && under(target, "src"))
        out.push({ file, rule: "schemas-import-src", detail: specifier })
      if (under(file, "src/reports") && target !== undefined && under(target, "src/http"))
        out.push({ file, rule: "reports-import-http", detail: specifier })
      if (under(file, "src/http") && target === "src/Seed.ts")
        out.push({ file, rule: "http-imports-seed", detail: specifier })
      if (!under(file, "src/store") && sqlModules.some((m) => m.test(specifier)))
        out.push({ file, rule: "sql-outside-store", detail: specifier })
    }
    if (!under(file, "src/store") && sqlTemplates > 0)
      out.push({ file, rule: "sql-outside-store", detail: `${sqlTemplates} sql\`…\` template(s)` })
  }
  return out
}

const excused = (v: Violation) => exceptions.some((e) => e.file === v.file && e.rule === v.rule)

const sources = (dir: string): Array<SourceFile> =>
  readdirSync(Path.join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => {
      const file = Path.posix.join(dir, name.split(Path.sep).join("/"))
      return { file, text: readFileSync(Path.join(root, file), "utf8") }
    })
    .sort((a, b) => a.file.localeCompare(b.file))

describe("layering", () => {
  const files = [...sources("schemas"), ...sources("src")]
  const found = violations(files)

  it("reads the modules it guards", () => {
    const names = files.map((f) => f.file)
    expect(names).toContain("schemas/Report.ts")
    expect(names).toContain("src/reports/ReportBuilder.ts")
    expect(names).toContain("src/store/Interviews.ts")
    expect(names).toContain("src/http/routes/AdminRoutes.ts")
    expect(names).toContain("src/inference/converter/Convert.ts")
  })

  it("has no violation outside the listed exceptions", () => {
    expect(found.filter((v) => !excused(v))).toEqual([])
  })

  it("lists no exception that excuses nothing", () => {
    const stale = exceptions.filter((e) => !found.some((v) => v.file === e.file && v.rule === e.rule))
    expect(stale.map((e) => `${e.file} (${e.rule})`)).toEqual([])
  })

  describe("catches a violation when one is added", () => {
    const one = (file: string, text: string) => violations([{ file, text }]).map((v) => v.rule)

    it("schemas importing src", () => {
      expect(one("schemas/X.ts", `import { EMOTIONS } from "../src/inference/ModelSpec.ts"`)).toEqual([
        "schemas-import-src"
      ])
      expect(one("schemas/X.ts", `export type { A } from "../src/A.ts"`)).toEqual(["schemas-import-src"])
      expect(one("schemas/X.ts", `import { Schema } from "effect"\nimport { Y } from "./Y.ts"`)).toEqual([])
    })

    it("reports importing http", () => {
      expect(one("src/reports/X.ts", `import type { Route } from "../http/Route.ts"`)).toEqual(["reports-import-http"])
      expect(one("src/reports/deep/X.ts", `const m = await import("../../http/Server.ts")`)).toEqual([
        "reports-import-http"
      ])
      expect(one("src/reports/X.ts", `import { Interviews } from "../store/Interviews.ts"`)).toEqual([])
    })

    it("http importing the demo seed", () => {
      expect(one("src/http/routes/X.ts", `import { seedDemo } from "../../Seed.ts"`)).toEqual(["http-imports-seed"])
      expect(one("src/http/X.ts", `export { seedDemo } from "../Seed.ts"`)).toEqual(["http-imports-seed"])
      expect(one("src/main.ts", `import { seedDemo } from "./Seed.ts"`)).toEqual([])
    })

    it("SQL outside src/store", () => {
      expect(one("src/answers/X.ts", `import * as SqlClient from "effect/sql/SqlClient"`)).toEqual([
        "sql-outside-store"
      ])
      expect(one("src/answers/X.ts", `import type * as SqlClient from "effect/sql/SqlClient"`)).toEqual([
        "sql-outside-store"
      ])
      expect(one("src/reports/X.ts", "const f = (sql: any) => sql`SELECT 1`")).toEqual(["sql-outside-store"])
      expect(one("src/reports/X.ts", "const f = (db: any) => db.sql`SELECT 1`")).toEqual(["sql-outside-store"])
      expect(one("src/http/X.ts", `import * as Pg from "@effect/sql-pg/PgClient"`)).toEqual(["sql-outside-store"])
      // Allowed: SQL in the store, the SQL error type anywhere, and the word in comments or plain strings.
      expect(one("src/store/X.ts", `import * as SqlClient from "effect/sql/SqlClient"\nsql\`SELECT 1\``)).toEqual([])
      expect(one("src/answers/X.ts", `import type { SqlError } from "effect/sql/SqlError"`)).toEqual([])
      expect(one("src/answers/X.ts", "// the `sql` template\nconst s = 'sql`'")).toEqual([])
    })
  })
})
