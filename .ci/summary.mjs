// Prints the totals of vitest's JSON reports (name=path arguments), each test that passed only on its retry (from
// flaky-<name>.json beside the report, written by flaky-reporter.mjs), then each failed test, with its file and
// the first lines of its failure, so that the end of the CI log says what failed. A missing report is a failure.
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"

const runs = process.argv.slice(2).map((arg) => {
  const at = arg.indexOf("=")
  return { name: arg.slice(0, at), path: arg.slice(at + 1) }
})
const skipped = (r) => (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
const total = { passed: 0, failed: 0, skipped: 0 }
const failures = []
const flaky = []
for (const run of runs) {
  if (!existsSync(run.path)) {
    console.log(`${run.name}: no report (the test run did not finish)`)
    total.failed++
    continue
  }
  const flakyFile = join(dirname(run.path), `flaky-${run.name}.json`)
  if (existsSync(flakyFile))
    for (const f of JSON.parse(readFileSync(flakyFile, "utf8"))) flaky.push({ run: run.name, ...f, messages: f.errors })
  const report = JSON.parse(readFileSync(run.path, "utf8"))
  console.log(
    `${run.name}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped(report)} skipped`
  )
  total.passed += report.numPassedTests
  total.failed += report.numFailedTests
  total.skipped += skipped(report)
  for (const file of report.testResults ?? []) {
    const name = relative(process.cwd(), file.name)
    const failed = (file.assertionResults ?? []).filter((a) => a.status === "failed")
    for (const test of failed)
      failures.push({ run: run.name, file: name, test: test.fullName, messages: test.failureMessages ?? [] })
    // A file that failed outside any test (an import or a hook) has no failed test to show.
    if (failed.length === 0 && file.status === "failed")
      failures.push({ run: run.name, file: name, test: "(the file itself)", messages: [file.message ?? ""] })
  }
}
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped, ${flaky.length} flaky`)
const show = (label, f) => {
  console.log(`\n${label} ${f.run} ${f.file} > ${f.test}`)
  const text = f.messages
    .join("\n")
    .split("\n")
    .filter((line) => !/node_modules\/vitest\/|at new Promise \(<anonymous>\)/.test(line))
    .slice(0, 25)
    .join("\n")
  console.log(text.length > 4000 ? `${text.slice(0, 4000)}…` : text)
}
for (const f of flaky) show("FLAKY (failed, then passed on its retry)", f)
for (const f of failures) show("FAILED", f)
