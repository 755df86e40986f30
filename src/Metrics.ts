/**
 * Prometheus metrics: a tiny registry of counters, gauges and histograms with labels, plus collectors that
 * services register to report their own snapshots (pool queue depth, sessions) at scrape time.
 */
import { Context, Effect, Layer } from "effect"
import { threadCpuSeconds } from "./ThreadCpu.ts"

type Labels = Readonly<Record<string, string>>

const labelText = (labels: Labels) => {
  const entries = Object.entries(labels)
  return entries.length === 0
    ? ""
    : `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`
}

interface Family {
  readonly name: string
  readonly help: string
  readonly type: "counter" | "gauge" | "histogram"
  readonly series: Map<string, { labels: Labels; value: number; buckets?: Array<number>; sum?: number; count?: number }>
  readonly bounds?: ReadonlyArray<number>
}

/** A collector renders extra samples at scrape time, in Prometheus text format. */
export type Collector = () => string

export interface MetricsShape {
  readonly inc: (name: string, help: string, labels?: Labels, by?: number) => void
  readonly set: (name: string, help: string, value: number, labels?: Labels) => void
  readonly observe: (name: string, help: string, value: number, labels?: Labels, bounds?: ReadonlyArray<number>) => void
  readonly addCollector: (collector: Collector) => () => void
  readonly render: () => string
}

const defaultBounds = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export const makeRegistry = (): MetricsShape => {
  const families = new Map<string, Family>()
  const collectors = new Set<Collector>()
  const family = (name: string, help: string, type: Family["type"], bounds?: ReadonlyArray<number>) => {
    let f = families.get(name)
    if (f === undefined) {
      f = { name, help, type, series: new Map(), ...(bounds === undefined ? {} : { bounds }) }
      families.set(name, f)
    }
    return f
  }
  const series = (f: Family, labels: Labels) => {
    const key = labelText(labels)
    let s = f.series.get(key)
    if (s === undefined) {
      s =
        f.type === "histogram"
          ? { labels, value: 0, buckets: new Array(f.bounds!.length).fill(0), sum: 0, count: 0 }
          : { labels, value: 0 }
      f.series.set(key, s)
    }
    return s
  }
  return {
    inc: (name, help, labels = {}, by = 1) => {
      series(family(name, help, "counter"), labels).value += by
    },
    set: (name, help, value, labels = {}) => {
      series(family(name, help, "gauge"), labels).value = value
    },
    observe: (name, help, value, labels = {}, bounds = defaultBounds) => {
      const f = family(name, help, "histogram", bounds)
      const s = series(f, labels)
      for (let i = 0; i < f.bounds!.length; i++) if (value <= f.bounds![i]!) s.buckets![i]!++
      s.sum! += value
      s.count!++
    },
    addCollector: (collector) => {
      collectors.add(collector)
      return () => collectors.delete(collector)
    },
    render: () => {
      const mem = process.memoryUsage()
      const lines: Array<string> = [
        "# HELP process_resident_memory_bytes Resident set size.",
        "# TYPE process_resident_memory_bytes gauge",
        `process_resident_memory_bytes ${mem.rss}`,
        "# HELP nodejs_heap_used_bytes V8 heap in use.",
        "# TYPE nodejs_heap_used_bytes gauge",
        `nodejs_heap_used_bytes ${mem.heapUsed}`,
        "# HELP process_cpu_seconds_total CPU time used by the process.",
        "# TYPE process_cpu_seconds_total counter",
        `process_cpu_seconds_total ${(() => {
          const u = process.cpuUsage()
          return (u.user + u.system) / 1e6
        })()}`
      ]
      const main = threadCpuSeconds()
      if (main !== undefined) {
        lines.push(
          "# HELP nodejs_main_thread_cpu_seconds_total CPU time of the main thread (sockets, sessions, sinks, HTTP).",
          "# TYPE nodejs_main_thread_cpu_seconds_total counter",
          `nodejs_main_thread_cpu_seconds_total ${main}`
        )
      }
      for (const f of families.values()) {
        lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`)
        for (const s of f.series.values()) {
          if (f.type !== "histogram") {
            lines.push(`${f.name}${labelText(s.labels)} ${s.value}`)
            continue
          }
          f.bounds!.forEach((b, i) => {
            lines.push(`${f.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.buckets![i]}`)
          })
          lines.push(`${f.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`)
          lines.push(`${f.name}_sum${labelText(s.labels)} ${s.sum}`, `${f.name}_count${labelText(s.labels)} ${s.count}`)
        }
      }
      for (const c of collectors) {
        const text = c()
        if (text.length > 0) lines.push(text.trimEnd())
      }
      return `${lines.join("\n")}\n`
    }
  }
}

/** The process's metric registry. */
export class Metrics extends Context.Service<Metrics, MetricsShape>()("candor/Metrics") {
  static readonly layer = Layer.sync(Metrics, makeRegistry)
}

const LOOP_TICK_MS = 20
const LOOP_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/**
 * The main thread's stalls as `nodejs_eventloop_delay_seconds`: a timer every 20 ms records how late it fired.
 * Sockets, actors and sinks share that thread, so a stall here delays every session's replies at once.
 */
export const eventLoopDelayLayer = Layer.effectDiscard(
  Effect.gen(function* () {
    const metrics = yield* Metrics
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        let last = performance.now()
        const timer = setInterval(() => {
          const now = performance.now()
          const late = Math.max(0, now - last - LOOP_TICK_MS) / 1000
          last = now
          metrics.observe(
            "nodejs_eventloop_delay_seconds",
            "How late a 20 ms timer on the main thread fired.",
            late,
            {},
            LOOP_BOUNDS
          )
        }, LOOP_TICK_MS)
        timer.unref()
        return timer
      }),
      (timer) => Effect.sync(() => clearInterval(timer))
    )
  })
)
