import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { makeMetrics, Metrics } from "../../src/Metrics.ts"
import { readExposition } from "./Exposition.ts"

const valid = `# HELP a_total A.
# TYPE a_total counter
a_total{k="x"} 1
a_total{k="y\\"z"} 2
# HELP h H.
# TYPE h histogram
h_bucket{le="0.5"} 1
h_bucket{le="+Inf"} 2
h_sum 3.5
h_count 2
`

describe("the Prometheus text reader of the tests", () => {
  it("accepts well-formed text", () => {
    const { families, problems } = readExposition(valid)
    expect(problems).toEqual([])
    expect(families.map((f) => [f.name, f.type, f.samples.length])).toEqual([
      ["a_total", "counter", 2],
      ["h", "histogram", 4]
    ])
  })

  it.each([
    [
      "a second HELP",
      valid.replace("# TYPE a_total", "# HELP a_total again\n# TYPE a_total"),
      "a_total: more than one HELP"
    ],
    ["no TYPE", valid.replace("# TYPE a_total counter\n", ""), "a_total: no TYPE"],
    ["no HELP", valid.replace("# HELP h H.\n", ""), "h: no HELP"],
    ["a histogram without _sum", valid.replace("h_sum 3.5\n", ""), "h: no _sum"],
    ["a histogram without +Inf", valid.replace('h_bucket{le="+Inf"} 2\n', ""), "h: no +Inf bucket"],
    ["+Inf unlike _count", valid.replace("h_count 2", "h_count 3"), "h: +Inf bucket differs from _count"],
    ["buckets going down", valid.replace('{le="0.5"} 1', '{le="0.5"} 5'), "h: buckets not cumulative"],
    ["a family split up", `${valid}a_total{k="w"} 1\n`, "a_total: lines of the family are not together"],
    ["a repeated series", valid.replace('a_total{k="x"} 1\n', 'a_total{k="x"} 1\na_total{k="x"} 1\n'), "duplicate"],
    ["a bad sample line", valid.replace('a_total{k="x"} 1', "a_total{k=x} 1"), "not a sample line"],
    ["no final newline", valid.trimEnd(), "does not end with a newline"]
  ])("flags %s", (_, text, problem) => {
    expect(readExposition(text).problems.join("\n")).toContain(problem)
  })
})

describe("Metrics", () => {
  const requests = Metric.counter("requests_total", { description: "Requests.", incremental: true })
  const latency = Metric.histogram("latency_seconds", { description: "Latency.", boundaries: [0.1, 1] })
  const depth = Metric.gauge("queue_depth", { description: "Queue depth." })

  it("renders what its owners update and sample, through Effect's exporter", () => {
    const metrics = makeMetrics()
    let queued = 3
    const remove = metrics.sample(depth, () => queued)
    metrics.update(requests, 2)
    metrics.update(requests, -5) // a counter never goes back
    metrics.update(latency, 0.05)
    metrics.update(latency, 7)
    const text = metrics.render()
    expect(readExposition(text).problems).toEqual([])
    expect(text).toContain("# TYPE requests_total counter\nrequests_total 2\n")
    expect(text).toContain('latency_seconds_bucket{le="0.1"} 1\nlatency_seconds_bucket{le="1"} 1\n')
    expect(text).toContain('latency_seconds_bucket{le="+Inf"} 2\nlatency_seconds_sum 7.05\nlatency_seconds_count 2')
    expect(text).toContain("queue_depth 3")
    queued = 5
    expect(metrics.render()).toContain("queue_depth 5")
    remove()
    expect(metrics.render()).not.toContain("queue_depth")
  })

  it("keeps each registry's counters to itself", () => {
    const a = makeMetrics()
    const b = makeMetrics()
    a.update(requests, 1)
    expect(a.render()).toContain("requests_total 1")
    expect(b.render()).toBe("")
  })

  it.effect("is also the registry of Metric.update inside the engine, with the process's series", () =>
    Effect.gen(function* () {
      yield* Metric.update(requests, 4)
      const text = (yield* Metrics).render()
      expect(text).toContain("requests_total 4")
      expect(text).toMatch(/^process_cpu_seconds_total \d/m)
      expect(text).toMatch(/^process_resident_memory_bytes \d+$/m)
      expect(readExposition(text).problems).toEqual([])
    }).pipe(Effect.provide(Metrics.layer))
  )
})
