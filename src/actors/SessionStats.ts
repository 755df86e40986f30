/** Counters of all live sessions of this process, kept as plain numbers on the hot path and rendered as metrics. */
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

  /** Prometheus text for the counters. */
  render(): string {
    const lines: Array<string> = []
    const metric = (name: string, type: "counter" | "gauge", help: string, value: number) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`)
    metric("candor_sessions_active", "gauge", "Interview session actors running.", this.active)
    metric("candor_candidate_sockets", "gauge", "Candidate WebSockets open.", this.sockets)
    metric("candor_frames_received_total", "counter", "Frames queued to sessions.", this.framesIn)
    metric("candor_frames_shed_total", "counter", "Queued frames shed because a session was behind.", this.framesShed)
    metric("candor_frames_analyzed_total", "counter", "Frames analysed and scored.", this.framesAnalyzed)
    metric("candor_frame_errors_total", "counter", "Frames answered with an error.", this.frameErrors)
    metric("candor_frames_rate_limited_total", "counter", "Frames over a socket's rate cap.", this.rateLimited)
    metric("candor_session_commands_total", "counter", "Candidate commands processed.", this.commands)
    metric("candor_session_restarts_total", "counter", "Session actors restarted after a defect.", this.restarts)
    metric("candor_session_passivations_total", "counter", "Idle session actors stopped.", this.passivations)
    metric("candor_protocol_errors_total", "counter", "Invalid candidate messages.", this.protocolErrors)
    return lines.join("\n")
  }
}
