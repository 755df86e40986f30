// A vitest reporter for CI, which retries a failed test once: it writes every test that failed and then passed
// on its retry, with the failure of its first attempt, to the JSON file named by CANDOR_FLAKY_REPORT, so that
// the summary names each flaky test instead of letting a retry hide it.
import { writeFileSync } from "node:fs"
import { relative } from "node:path"

export default class FlakyReporter {
  flaky = []

  onTestCaseResult(testCase) {
    if (!testCase.diagnostic()?.flaky) return
    this.flaky.push({
      file: relative(process.cwd(), testCase.module.moduleId),
      test: testCase.fullName,
      retries: testCase.diagnostic().retryCount,
      errors: (testCase.result().errors ?? []).map((e) => e.stack ?? e.message ?? String(e))
    })
  }

  onTestRunEnd() {
    const file = process.env.CANDOR_FLAKY_REPORT
    if (file) writeFileSync(file, `${JSON.stringify(this.flaky, null, 2)}\n`)
  }
}
