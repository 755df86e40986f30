import { describe, expect, it } from "@effect/vitest"
import { Worker } from "node:worker_threads"
import { threadCpuSeconds } from "../../src/ThreadCpu.ts"

const processCpuSince = (start: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(start)
  return (u.user + u.system) / 1e6
}

// A worker that spins until its own thread has used 0.4 s of CPU (at most 10 s of wall clock on a loaded machine).
const SPINNER = `
const fs = require("node:fs")
const cpu = () => {
  const s = fs.readFileSync("/proc/thread-self/stat", "latin1")
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ")
  return (Number(f[11]) + Number(f[12])) / 100
}
const start = cpu()
const until = Date.now() + 10000
while (cpu() - start < 0.4 && Date.now() < until) {}
`

describe.runIf(process.platform === "linux")("thread CPU", () => {
  it("advances with this thread's work, and never past the whole process's CPU", () => {
    const processStart = process.cpuUsage()
    const start = threadCpuSeconds()!
    const until = performance.now() + 10_000
    while (threadCpuSeconds()! - start < 0.2 && performance.now() < until) {}
    const own = threadCpuSeconds()! - start
    expect(own).toBeGreaterThanOrEqual(0.2)
    // The kernel counts both in 10 ms ticks.
    expect(own).toBeLessThanOrEqual(processCpuSince(processStart) + 0.02)
  })

  it("resolves less than the kernel's 10 ms tick, as it is read after every task", () => {
    const start = threadCpuSeconds()!
    // About 2 ms of work: /proc/thread-self/stat would say 0 or 0.01 s for it.
    const until = performance.now() + 2
    while (performance.now() < until) {}
    const spent = threadCpuSeconds()! - start
    expect(spent).toBeGreaterThan(0)
    expect(spent).toBeLessThan(0.009)
  })

  it("does not count another thread's CPU", async () => {
    const processStart = process.cpuUsage()
    const start = threadCpuSeconds()!
    await new Promise<void>((resolve, reject) => {
      const w = new Worker(SPINNER, { eval: true })
      w.on("exit", () => resolve())
      w.on("error", reject)
    })
    const own = threadCpuSeconds()! - start
    // The worker's spinning is in the process's CPU, not in this thread's, which only waited for it.
    expect(processCpuSince(processStart) - own).toBeGreaterThanOrEqual(0.35)
    expect(own).toBeLessThan(0.2)
  })
})
