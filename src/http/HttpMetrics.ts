/** `http_requests_total` and `http_request_duration_seconds`, recorded by the server when it answers a request. */
import { Metric } from "effect"
import { byLabels, type MetricsShape } from "../Metrics.ts"

const requests = byLabels((labels) =>
  Metric.counter("http_requests_total", {
    description: "HTTP requests by route and status.",
    attributes: labels,
    incremental: true
  })
)

const duration = byLabels((labels) =>
  Metric.histogram("http_request_duration_seconds", {
    description: "HTTP request latency.",
    attributes: labels,
    boundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
  })
)

/** Counts a reply of `route` (its template, or `unmatched`, `shutdown`) and its latency since `startedAt`. */
export const recordRequest = (metrics: MetricsShape, route: string, status: number, startedAt: number): void => {
  metrics.update(requests({ route, status: String(status) }), 1)
  metrics.update(duration({ route }), (performance.now() - startedAt) / 1000)
}
