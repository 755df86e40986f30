/**
 * Prometheus metrics: Effect `Metric`s in a registry of the engine's own, rendered by Effect's Prometheus exporter.
 * Several engines can run in one process (tests, the bench), each with its own counters. Owners update their
 * metrics as things happen, or have a counter or gauge read from their own numbers at each scrape (queue depth,
 * sessions, CPU time).
 */
import { Context, type Duration, Effect, Layer, Metric, Schedule, type Scope } from "effect"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"
import { threadCpuSeconds } from "./ThreadCpu.ts"

/** A counter or gauge whose value its owner keeps, read at each scrape. */
export type Sampled = Metric.Counter<number> | Metric.Gauge<number>

export interface MetricsShape {
  /** A context holding this registry, for `Metric.updateUnsafe` and the exporter. */
  readonly context: Context.Context<never>
  /** Adds to a counter, sets a gauge, records a histogram observation. */
  readonly update: <Input, State>(metric: Metric.Metric<Input, State>, input: Input) => void
  /** The series' current state; reading a series that has none yet creates it (a counter at 0, an empty histogram). */
  readonly value: <Input, State>(metric: Metric.Metric<Input, State>) => State
  /** Has `read` give the value of a counter or gauge at each scrape; returns the series' removal. */
  readonly sample: (metric: Sampled, read: () => number) => () => void
  /** Every series in Prometheus text format. */
  readonly render: () => string
}

const noop = () => {}

/** A registry of its own; `Metrics.layer` adds the process's series. */
export const makeMetrics = (): MetricsShape => {
  const context = Context.make(Metric.MetricRegistry, new Map())
  return {
    context,
    update: (metric, input) => metric.updateUnsafe(input, context),
    value: (metric) => metric.valueUnsafe(context),
    sample: (metric, read) => {
      const get =
        metric.type === "Counter"
          ? (): Metric.CounterState<number> => ({ count: read(), incremental: true })
          : (): Metric.GaugeState<number> => ({ value: read() })
      return Metric.registerUnsafe(metric as Metric.Metric<number, unknown>, context, {
        get,
        update: noop,
        modify: noop
      }).remove
    },
    render: () => PrometheusMetrics.formatUnsafe(context)
  }
}

/** Samples every pair; returns one removal for all of them. */
export const sampleAll = (
  metrics: MetricsShape,
  series: ReadonlyArray<readonly [Sampled, () => number]>
): (() => void) => {
  const removals = series.map(([metric, read]) => metrics.sample(metric, read))
  return () => {
    for (const remove of removals) remove()
  }
}

/** Samples every pair for the life of the current scope. */
export const sampled = (
  series: ReadonlyArray<readonly [Sampled, () => number]>
): Effect.Effect<void, never, Metrics | Scope.Scope> =>
  Effect.gen(function* () {
    const metrics = yield* Metrics
    yield* Effect.acquireRelease(
      Effect.sync(() => sampleAll(metrics, series)),
      (remove) => Effect.sync(remove)
    )
  })

/**
 * A gauge of a value that is costly to read (a query): read every `every` for the life of the current scope, the
 * last reading given at each scrape (0 until the first; a failed read keeps the previous one).
 */
export const polled = (
  gauge: Metric.Gauge<number>,
  read: Effect.Effect<number, unknown>,
  every: Duration.Input
): Effect.Effect<void, never, Metrics | Scope.Scope> =>
  Effect.gen(function* () {
    let value = 0
    yield* Effect.forkScoped(
      read.pipe(
        Effect.tap((n) =>
          Effect.sync(() => {
            value = n
          })
        ),
        Effect.ignore,
        Effect.repeat(Schedule.spaced(every))
      )
    )
    yield* sampled([[gauge, () => value]])
  })

type Labels = Readonly<Record<string, string>>

/**
 * One metric per label set, made on first use and reused: each keeps its own series key, so the hot path does not
 * rebuild it. For label values from a small set (routes, statuses, outcomes).
 */
export const byLabels = <M>(make: (labels: Labels) => M): ((labels: Labels) => M) => {
  const made = new Map<string, M>()
  return (labels) => {
    const key = JSON.stringify(labels)
    let metric = made.get(key)
    if (metric === undefined) {
      metric = make(labels)
      made.set(key, metric)
    }
    return metric
  }
}

const residentMemory = Metric.gauge("process_resident_memory_bytes", { description: "Resident set size." })
const heapUsed = Metric.gauge("nodejs_heap_used_bytes", { description: "V8 heap in use." })
const processCpu = Metric.counter("process_cpu_seconds_total", {
  description: "CPU time used by the process.",
  incremental: true
})
const mainThreadCpu = Metric.counter("nodejs_main_thread_cpu_seconds_total", {
  description: "CPU time of the main thread (sockets, sessions, sinks, HTTP).",
  incremental: true
})

const processSeries = (): ReadonlyArray<readonly [Sampled, () => number]> => [
  [residentMemory, () => process.memoryUsage.rss()],
  [heapUsed, () => process.memoryUsage().heapUsed],
  [
    processCpu,
    () => {
      const u = process.cpuUsage()
      return (u.user + u.system) / 1e6
    }
  ],
  // Only where the platform reports a thread's CPU: a bench reads its absence as "no split by thread".
  ...(threadCpuSeconds() === undefined ? [] : [[mainThreadCpu, () => threadCpuSeconds() ?? 0] as const])
]

/**
 * The engine's metric registry, with the process's memory and CPU. The layer also provides the registry as Effect's
 * current `Metric.MetricRegistry`, so `Metric.update` in the engine's effects lands on the same `/metrics`.
 */
export class Metrics extends Context.Service<Metrics, MetricsShape>()("candor/Metrics") {
  static readonly layer = Layer.effectContext(
    Effect.sync(() => {
      const metrics = makeMetrics()
      sampleAll(metrics, processSeries())
      return Context.make(Metrics, metrics).pipe(
        Context.add(Metric.MetricRegistry, Context.get(metrics.context, Metric.MetricRegistry))
      )
    })
  )
}

const LOOP_TICK_MS = 20
const loopDelay = Metric.histogram("nodejs_eventloop_delay_seconds", {
  description: "How late a 20 ms timer on the main thread fired.",
  boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
})

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
          metrics.update(loopDelay, Math.max(0, now - last - LOOP_TICK_MS) / 1000)
          last = now
        }, LOOP_TICK_MS)
        timer.unref()
        return timer
      }),
      (timer) => Effect.sync(() => clearInterval(timer))
    )
  })
)
