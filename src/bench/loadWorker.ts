/**
 * Worker thread of the LoadGenerator: runs its share of simulated candidates and reports every frame's fate once
 * a second, so the main thread can compute any window's statistics and watch this thread's own lag.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"
import { parentPort, workerData } from "node:worker_threads"
import { Sample } from "./LatencySummary.ts"
import type { LoadCommand, LoadReport, LoadWorkerData } from "./LoadProtocol.ts"
import { type CandidateSink, SimulatedCandidate } from "./SimulatedCandidate.ts"

const data = workerData as LoadWorkerData
const port = parentPort!
const origin = performance.timeOrigin

// Small deterministic generator: runs are repeatable for a given seed.
let state = data.seed >>> 0 || 1
const random = () => {
  state ^= state << 13
  state ^= state >>> 17
  state ^= state << 5
  return (state >>> 0) / 4294967296
}

const sent = new Sample()
const lateness = new Sample()
const skipped = new Sample()
const analysed = new Sample()
const lost = new Sample()
const rejected = new Sample()
let events: Record<string, number> = {}
const sink: CandidateSink = {
  now: () => origin + performance.now(),
  sent: (at, late) => {
    sent.push(at)
    lateness.push(at)
    lateness.push(late)
  },
  skipped: (at) => skipped.push(at),
  analysed: (at, latency, faces) => {
    analysed.push(at)
    analysed.push(latency)
    analysed.push(faces)
  },
  lost: (at) => lost.push(at),
  rejected: (at, code) => {
    rejected.push(at)
    events[`shed:${code}`] = (events[`shed:${code}`] ?? 0) + 1
  },
  event: (name) => {
    events[name] = (events[name] ?? 0) + 1
  }
}

const candidates: Array<SimulatedCandidate> = []
const loop = monitorEventLoopDelay({ resolution: 2 })
loop.enable()

const take = (s: Sample): Float64Array<ArrayBuffer> => {
  const copy = new Float64Array(s.length)
  copy.set(s.values())
  s.clear()
  return copy
}

const tick = () => {
  for (const c of candidates) c.expire(data.lossTimeoutMs)
  const report: LoadReport = {
    _tag: "Tick",
    at: sink.now(),
    sent: take(sent),
    lateness: take(lateness),
    skipped: take(skipped),
    analysed: take(analysed),
    lost: take(lost),
    rejected: take(rejected),
    loopDelayP99: loop.percentile(99) / 1e6,
    loopDelayMax: loop.max / 1e6,
    open: candidates.reduce((n, c) => n + (c.isOpen ? 1 : 0), 0),
    oldestPending: candidates.reduce<number | null>((oldest, c) => {
      const at = c.oldestPending()
      return at === undefined || (oldest !== null && oldest <= at) ? oldest : at
    }, null),
    events
  }
  events = {}
  loop.reset()
  const arrays = [report.sent, report.lateness, report.skipped, report.analysed, report.lost, report.rejected]
  port.postMessage(
    report,
    arrays.map((a) => a.buffer as ArrayBuffer)
  )
}
const ticker = setInterval(tick, 1000)

/** Connects in bounded waves: thousands of simultaneous handshakes would measure the accept queue, not us. */
const connectAll = async (batch: ReadonlyArray<SimulatedCandidate>) => {
  let opened = 0
  let refused = 0
  let next = 0
  const lane = async () => {
    while (next < batch.length) {
      const c = batch[next++]!
      if (await c.connect()) opened++
      else refused++
    }
  }
  await Promise.all(Array.from({ length: Math.min(64, batch.length) }, lane))
  return { opened, refused }
}

port.on("message", (command: LoadCommand) => {
  if (command._tag === "Add") {
    const batch = command.candidates.map(
      (spec, i) =>
        new SimulatedCandidate(
          spec.url ?? data.url,
          spec,
          command.mode,
          data.clips[(candidates.length + i) % data.clips.length]!,
          sink,
          random
        )
    )
    candidates.push(...batch)
    connectAll(batch).then(({ opened, refused }) =>
      port.postMessage({ _tag: "Added", opened, refused } satisfies LoadReport)
    )
    return
  }
  Promise.all(candidates.map((c) => c.close(command.finish))).then(() => {
    tick()
    clearInterval(ticker)
    loop.disable()
    port.postMessage({ _tag: "Stopped" } satisfies LoadReport)
  })
})
