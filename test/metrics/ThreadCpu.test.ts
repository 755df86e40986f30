import { describe, expect, it } from "@effect/vitest"
import { Worker } from "node:worker_threads"
import { threadCpuSeconds } from "../../src/ThreadCpu.ts"

const spin = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until) {}
}

describe.runIf(process.platform === "linux")("thread CPU", () => {
  it("counts this thread's own CPU, and not another thread's", async () => {
    const before = threadCpuSeconds()!
    spin(300)
    const busy = threadCpuSeconds()! - before
    expect(busy).toBeGreaterThanOrEqual(0.2)
    // While a worker thread spins for 400 ms, this thread only waits for it.
    const waitStart = threadCpuSeconds()!
    await new Promise<void>((resolve, reject) => {
      const w = new Worker("const until = performance.now() + 400; while (performance.now() < until) {}", {
        eval: true
      })
      w.on("exit", () => resolve())
      w.on("error", reject)
    })
    expect(threadCpuSeconds()! - waitStart).toBeLessThan(0.2)
  })
})
