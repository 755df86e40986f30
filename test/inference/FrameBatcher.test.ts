import { describe, expect, it } from "@effect/vitest"
import { vi } from "vitest"
import { type BatcherOptions, FrameBatcher } from "../../src/inference/FrameBatcher.ts"

/** A batcher over a fake worker whose batches finish only when the test says so. */
const harness = (options: Partial<BatcherOptions> = {}) => {
  const batches: Array<{ items: ReadonlyArray<number>; finish: () => void; fail: (e: Error) => void }> = []
  const results = new Map<number, string>()
  const batcher = new FrameBatcher<number, string>(
    { maxBatch: 3, maxDelayMs: 0, maxQueue: 10, maxInFlight: 1, ...options },
    (items) =>
      new Promise((resolve, reject) => {
        batches.push({ items, finish: () => resolve(items.map((i) => `ok ${i}`)), fail: reject })
      }),
    (error, item) => `failed ${item}: ${(error as Error).message}`
  )
  const submit = (item: number) => batcher.submit(item, (outcome) => results.set(item, outcome))
  return { batcher, batches, results, submit }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

describe("FrameBatcher", () => {
  it("sends the first item at once and batches what arrives while the worker is busy", async () => {
    const h = harness()
    for (let i = 1; i <= 5; i++) h.submit(i)
    expect(h.batches.map((b) => b.items)).toEqual([[1]])
    expect(h.batcher.queued).toBe(4)
    h.batches[0]!.finish()
    await tick()
    expect(h.batches.map((b) => b.items)).toEqual([[1], [2, 3, 4]])
    expect(h.results.get(1)).toBe("ok 1")
    h.batches[1]!.finish()
    await tick()
    expect(h.batches[2]!.items).toEqual([5])
    h.batches[2]!.finish()
    await tick()
    expect([...h.results.keys()].sort()).toEqual([1, 2, 3, 4, 5])
    expect(h.batcher.inFlightBatches).toBe(0)
  })

  it("waits up to maxDelayMs for companions when a worker is free, but not once the batch is full", async () => {
    const h = harness({ maxDelayMs: 30, maxInFlight: 2 })
    h.submit(1)
    h.submit(2)
    expect(h.batches).toHaveLength(0)
    h.submit(3) // maxBatch reached
    expect(h.batches.map((b) => b.items)).toEqual([[1, 2, 3]])
    h.submit(4)
    expect(h.batches).toHaveLength(1)
    await vi.waitFor(() => expect(h.batches.map((b) => b.items)).toEqual([[1, 2, 3], [4]]))
  })

  it("refuses items beyond maxQueue", () => {
    const h = harness({ maxQueue: 2 })
    expect(h.submit(1)).not.toBeNull() // dispatched
    expect(h.submit(2)).not.toBeNull()
    expect(h.submit(3)).not.toBeNull()
    expect(h.submit(4)).toBeNull()
    expect(h.batcher.queued).toBe(2)
  })

  it("removes a cancelled item from the queue, and drops the outcome of one already running", async () => {
    const h = harness()
    const cancelRunning = h.submit(1)!
    h.submit(2)
    const cancelQueued = h.submit(3)!
    h.submit(4)
    cancelQueued()
    cancelRunning()
    expect(h.batcher.queued).toBe(2)
    h.batches[0]!.finish()
    await tick()
    expect(h.batches[1]!.items).toEqual([2, 4])
    expect(h.results.has(1)).toBe(false)
    h.batches[1]!.finish()
    await tick()
    expect(h.results.has(3)).toBe(false)
    expect([...h.results.keys()].sort()).toEqual([2, 4])
  })

  it("maps a failed batch to an outcome per item and carries on", async () => {
    const h = harness()
    h.submit(1)
    h.submit(2)
    h.batches[0]!.fail(new Error("worker exited"))
    await tick()
    expect(h.results.get(1)).toBe("failed 1: worker exited")
    h.batches[1]!.finish()
    await tick()
    expect(h.results.get(2)).toBe("ok 2")
  })

  it("settles queued items on close and refuses new ones", () => {
    const h = harness()
    h.submit(1)
    h.submit(2)
    h.batcher.close((item) => `closed ${item}`)
    expect(h.results.get(2)).toBe("closed 2")
    expect(h.results.has(1)).toBe(false) // still running
    expect(h.submit(3)).toBeNull()
  })
})
