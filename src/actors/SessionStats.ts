/** Counters of all live sessions of an engine, kept as plain numbers on the hot path and read at each scrape. */
import { Metric } from "effect"
import { type MetricsShape, type Sampled, sampleAll } from "../Metrics.ts"

const gauge = (name: string, description: string) => Metric.gauge(name, { description })
const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

const series: ReadonlyArray<readonly [Sampled, (stats: SessionStats) => number]> = [
  [gauge("candor_sessions_active", "Interview session actors running."), (s) => s.active],
  [gauge("candor_candidate_sockets", "Candidate WebSockets open."), (s) => s.sockets],
  [counter("candor_frames_received_total", "Frames queued to sessions."), (s) => s.framesIn],
  [counter("candor_frames_shed_total", "Queued frames shed because a session was behind."), (s) => s.framesShed],
  [counter("candor_frames_analyzed_total", "Frames analysed and scored."), (s) => s.framesAnalyzed],
  [counter("candor_frame_errors_total", "Frames answered with an error."), (s) => s.frameErrors],
  [counter("candor_frames_rate_limited_total", "Frames over a socket's rate cap."), (s) => s.rateLimited],
  [counter("candor_session_commands_total", "Candidate commands processed."), (s) => s.commands],
  [counter("candor_session_restarts_total", "Session actors restarted after a defect."), (s) => s.restarts],
  [counter("candor_session_passivations_total", "Idle session actors stopped."), (s) => s.passivations],
  [counter("candor_protocol_errors_total", "Invalid candidate messages."), (s) => s.protocolErrors]
]

export class SessionStats {
  active = 0
  framesIn = 0
  framesShed = 0
  framesAnalyzed = 0
  frameErrors = 0
  rateLimited = 0
  commands = 0
  restarts = 0
  passivations = 0
  protocolErrors = 0
  sockets = 0

  /** Puts the counters on `metrics`, read at each scrape; returns their removal. */
  register(metrics: MetricsShape): () => void {
    return sampleAll(
      metrics,
      series.map(([metric, read]) => [metric, () => read(this)] as const)
    )
  }
}
