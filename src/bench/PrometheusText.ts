/**
 * Reads the engine's `/metrics` (Prometheus text format) into samples, and picks the series the bench charts.
 * Pool series are matched by name pattern so the bench keeps working while metric names evolve.
 */

export interface PromSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

const parseValue = (raw: string): number =>
  raw === "+Inf" ? Number.POSITIVE_INFINITY : raw === "-Inf" ? Number.NEGATIVE_INFINITY : Number(raw)

export const parsePrometheus = (text: string): Array<PromSample> => {
  const out: Array<PromSample> = []
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const m = LINE.exec(line.trim())
    if (m === null) continue
    const labels: Record<string, string> = {}
    if (m[3] !== undefined) {
      for (const l of m[3].matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\(.)/g, "$1")
    }
    out.push({ name: m[1]!, labels, value: parseValue(m[4]!) })
  }
  return out
}

/** Sum over all label sets of the first metric whose name matches. */
export const sumOf = (samples: ReadonlyArray<PromSample>, pattern: RegExp): number | undefined => {
  const name = samples.find((s) => pattern.test(s.name))?.name
  if (name === undefined) return undefined
  return samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0)
}

/** The sample of `name` whose labels include `labels`. */
export const labelled = (
  samples: ReadonlyArray<PromSample>,
  name: string,
  labels: Readonly<Record<string, string>>
): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value

const STAGES = ["decode", "detect", "mesh", "emotion", "total"] as const
export type Stage = (typeof STAGES)[number]

/** What the bench reads from one scrape. Absent series are undefined (older engines, or a remote one). */
export interface EngineGauges {
  readonly at: number
  readonly cpuSeconds: number | undefined
  /** CPU of the engine's main thread and of its inference worker threads (the rest is native helper threads). */
  readonly mainCpuSeconds: number | undefined
  readonly workerCpuSeconds: number | undefined
  /** The embedded database's thread (PGlite), when the engine runs one. */
  readonly databaseCpuSeconds?: number | undefined
  readonly rssBytes: number | undefined
  readonly queueDepth: number | undefined
  readonly batchSum: number | undefined
  readonly batchCount: number | undefined
  readonly framesDetected: number | undefined
  readonly framesAnalyzed: number | undefined
  readonly framesShed: number | undefined
  /**
   * The session layer's counters (`candor_frames_received_total`, `candor_frames_analyzed_total`): counted where a
   * session's actor runs, which in a cluster is the interview's owner, whichever node holds the candidate's socket.
   */
  readonly sessionFramesIn: number | undefined
  readonly sessionFramesAnalyzed: number | undefined
  /** Candidate sockets open on this node (`candor_candidate_sockets`), relayed ones included. */
  readonly candidateSockets: number | undefined
  /** Per-stage sums and counts of the pool's per-frame stage histograms. */
  readonly stages: Partial<Record<Stage, { readonly sum: number; readonly count: number }>>
  /** The main thread's event-loop delay histogram (cumulative buckets, seconds), when the engine exports it. */
  readonly loopDelay: ReadonlyArray<{ readonly le: number; readonly count: number }> | undefined
}

export const readGauges = (text: string, at: number): EngineGauges => {
  const s = parsePrometheus(text)
  const stages: Partial<Record<Stage, { sum: number; count: number }>> = {}
  for (const stage of STAGES) {
    const sum = labelled(s, "candor_pool_stage_ms_sum", { stage })
    const count = labelled(s, "candor_pool_stage_ms_count", { stage })
    if (sum !== undefined && count !== undefined) stages[stage] = { sum, count }
  }
  const poolFrames = (outcome: string) => labelled(s, "candor_pool_frames_total", { outcome })
  const loop = s
    .filter((x) => x.name === "nodejs_eventloop_delay_seconds_bucket")
    .map((x) => ({ le: parseValue(x.labels["le"] ?? "+Inf"), count: x.value }))
    .sort((a, b) => a.le - b.le)
  return {
    at,
    cpuSeconds: sumOf(s, /^process_cpu_seconds_total$/),
    mainCpuSeconds: sumOf(s, /^nodejs_main_thread_cpu_seconds_total$/),
    workerCpuSeconds: sumOf(s, /^candor_pool_worker_cpu_seconds_total$/),
    databaseCpuSeconds: sumOf(s, /^candor_embedded_database_cpu_seconds_total$/),
    rssBytes: sumOf(s, /^process_resident_memory_bytes$/),
    queueDepth: sumOf(s, /queue_depth/),
    batchSum: sumOf(s, /batch_size_sum$/),
    batchCount: sumOf(s, /batch_size_count$/),
    // The pool's own counters first: detected and analysed frames must come from the same place.
    framesDetected: poolFrames("detected") ?? sumOf(s, /frames_detected(_total)?$/),
    framesAnalyzed: poolFrames("analyzed") ?? sumOf(s, /frames_analy[sz]ed(_total)?$/),
    framesShed: sumOf(s, /frames_(shed|dropped|saturated)(_total)?$/),
    sessionFramesIn: sumOf(s, /^candor_frames_received_total$/),
    sessionFramesAnalyzed: sumOf(s, /^candor_frames_analyzed_total$/),
    candidateSockets: sumOf(s, /^candor_candidate_sockets$/),
    stages,
    loopDelay: loop.length === 0 ? undefined : loop
  }
}

/** The sum of the values present; undefined when none is. */
const sumDefined = (values: ReadonlyArray<number | undefined>): number | undefined => {
  const present = values.filter((v): v is number => v !== undefined)
  return present.length === 0 ? undefined : present.reduce((a, b) => a + b, 0)
}

/**
 * Several nodes' scrapes (of one instant) as one engine's: counters, gauges and histograms add up, so CPU per
 * analysed frame, RSS and queue depth cover the whole cluster. A series that only some nodes export counts as 0 on
 * the others (the nodes run one version: an engine exports a counter once it first counts, so a node whose pool has
 * not analysed a frame yet has no worker CPU series); one that no node exports stays undefined. A histogram whose
 * buckets differ between nodes cannot be added up and is left out. `at` is the mean of the scrapes' instants.
 */
export const sumGauges = (scrapes: ReadonlyArray<EngineGauges>): EngineGauges => {
  if (scrapes.length === 0) throw new Error("sumGauges: no scrape")
  if (scrapes.length === 1) return scrapes[0]!
  const total = (pick: (g: EngineGauges) => number | undefined) => sumDefined(scrapes.map(pick))
  const stages: Partial<Record<Stage, { sum: number; count: number }>> = {}
  for (const stage of STAGES) {
    const sum = total((g) => g.stages[stage]?.sum)
    const count = total((g) => g.stages[stage]?.count)
    if (sum !== undefined && count !== undefined) stages[stage] = { sum, count }
  }
  const loops = scrapes.map((g) => g.loopDelay).filter((l) => l !== undefined)
  const first = loops[0]
  const sameBuckets =
    first !== undefined && loops.every((l) => l.length === first.length && l.every((b, i) => b.le === first[i]!.le))
  return {
    at: scrapes.reduce((n, g) => n + g.at, 0) / scrapes.length,
    cpuSeconds: total((g) => g.cpuSeconds),
    mainCpuSeconds: total((g) => g.mainCpuSeconds),
    workerCpuSeconds: total((g) => g.workerCpuSeconds),
    databaseCpuSeconds: total((g) => g.databaseCpuSeconds),
    rssBytes: total((g) => g.rssBytes),
    queueDepth: total((g) => g.queueDepth),
    batchSum: total((g) => g.batchSum),
    batchCount: total((g) => g.batchCount),
    framesDetected: total((g) => g.framesDetected),
    framesAnalyzed: total((g) => g.framesAnalyzed),
    framesShed: total((g) => g.framesShed),
    sessionFramesIn: total((g) => g.sessionFramesIn),
    sessionFramesAnalyzed: total((g) => g.sessionFramesAnalyzed),
    candidateSockets: total((g) => g.candidateSockets),
    stages,
    loopDelay: sameBuckets
      ? first.map((b, i) => ({ le: b.le, count: loops.reduce((n, l) => n + l[i]!.count, 0) }))
      : undefined
  }
}

/** CPU use in cores, mean batch size and detector share between two scrapes. */
export const between = (a: EngineGauges, b: EngineGauges) => {
  const seconds = (b.at - a.at) / 1000
  const delta = (x: number | undefined, y: number | undefined) =>
    x === undefined || y === undefined ? undefined : y - x
  const cpu = delta(a.cpuSeconds, b.cpuSeconds)
  const main = delta(a.mainCpuSeconds, b.mainCpuSeconds)
  const workers = delta(a.workerCpuSeconds, b.workerCpuSeconds)
  const database = delta(a.databaseCpuSeconds, b.databaseCpuSeconds)
  const batches = delta(a.batchCount, b.batchCount)
  const batchSum = delta(a.batchSum, b.batchSum)
  const analyzed = delta(a.framesAnalyzed, b.framesAnalyzed)
  const detected = delta(a.framesDetected, b.framesDetected)
  const stageMs: Partial<Record<Stage, number>> = {}
  for (const stage of STAGES) {
    const x = a.stages[stage]
    const y = b.stages[stage]
    if (x !== undefined && y !== undefined && y.count > x.count) stageMs[stage] = (y.sum - x.sum) / (y.count - x.count)
  }
  return {
    stageMs,
    ...loopBetween(a.loopDelay, b.loopDelay),
    cpuCores: cpu === undefined || seconds <= 0 ? undefined : cpu / seconds,
    ...(main === undefined || workers === undefined || seconds <= 0
      ? {}
      : { mainCores: main / seconds, workerCores: workers / seconds }),
    ...(database === undefined || seconds <= 0 ? {} : { databaseCores: database / seconds }),
    meanBatch: batches === undefined || batchSum === undefined || batches <= 0 ? undefined : batchSum / batches,
    detectorShare: analyzed === undefined || detected === undefined || analyzed <= 0 ? undefined : detected / analyzed
  }
}

/**
 * Event-loop delay between two scrapes: the 99th percentile and the worst, each as the upper bound of its bucket,
 * and how many ticks fired more than 50 ms late (stalls every session feels at once).
 */
const loopBetween = (
  a: EngineGauges["loopDelay"],
  b: EngineGauges["loopDelay"]
): { loopP99Ms?: number; loopMaxMs?: number; loopStalls?: number } => {
  if (a === undefined || b === undefined || a.length !== b.length) return {}
  const delta = b.map((x, i) => ({ le: x.le, count: x.count - a[i]!.count }))
  const total = delta.at(-1)!.count
  if (total <= 0) return {}
  const upTo = (share: number) => delta.find((x) => x.count >= share * total)!.le * 1000
  const under50 = delta.filter((x) => x.le <= 0.05).at(-1)?.count ?? 0
  return { loopP99Ms: upTo(0.99), loopMaxMs: upTo(1), loopStalls: total - under50 }
}
