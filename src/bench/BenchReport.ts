/** The results as aligned plain-text tables (the terminal) and as Markdown tables (RESULTS.md). */
import { type BenchResults, cpuMsPerAnalysedFrame, judgeTargets } from "./BenchResults.ts"
import type { ClusterSide, RelayCost } from "./ClusterOverhead.ts"
import type { PlacementRound, PlacementRow } from "./Placement.ts"
import type { LoadRunResult } from "./LoadPhases.ts"
import { boundAt, boundMsPerFrame, type ModelBoundResult, type ModelTiming } from "./ModelBound.ts"
import type { PeerPair } from "./PeerComparison.ts"
import type { ThroughputResult } from "./PeerRunner.ts"

export type Table = ReadonlyArray<ReadonlyArray<string>>

const f = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits))
const pct = (v: number | undefined, digits = 1) => (v === undefined ? "–" : `${(v * 100).toFixed(digits)} %`)

/** Columns left-aligned when the header says so by starting the row; numbers right-aligned. */
export const textTable = (rows: Table): string => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)))
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}

const NUMERIC = /^(–|[-+]?[\d.,]+ ?(%|×|ms|s|MB|kB)?|)$/

/** Columns whose cells are all figures are right-aligned; text stays left. */
export const markdownTable = (rows: Table): string => {
  const [head, ...body] = rows
  const line = (r: ReadonlyArray<string>) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`
  const align = head!.map((_, c) =>
    c > 0 && body.length > 0 && body.every((r) => NUMERIC.test((r[c] ?? "").trim())) ? " ---: " : " --- "
  )
  return [line(head!), `|${align.join("|")}|`, ...body.map(line)].join("\n")
}

export const loadTable = (runs: ReadonlyArray<LoadRunResult>): Table => [
  [
    "run",
    "cand",
    "fps",
    "offered/s",
    "analysed/s",
    "shed",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "engine cores",
    "RSS MB",
    "batch",
    "queue max",
    "gen cores",
    "gen late p99"
  ],
  ...runs.map((r) => [
    r.name + (r.generatorLimited === undefined ? "" : " *"),
    String(r.sessions),
    String(r.fps),
    f(r.stats.offeredFps),
    f(r.stats.analysedFps),
    pct(r.stats.shedRatio, 2),
    f(r.stats.latencyMs.p50),
    f(r.stats.latencyMs.p90),
    f(r.stats.latencyMs.p99),
    f(r.stats.latencyMs.max),
    f(r.engine.cpuCores, 2),
    f(r.engine.rssMBMax, 0),
    f(r.engine.meanBatch, 2),
    f(r.engine.queueDepthMax, 0),
    f(r.engine.generatorCpuCores, 2),
    `${f(r.stats.generator.sendLatenessMs.p99)} ms`
  ])
]

const throughputRow = (r: ThroughputResult, bound?: number): Array<string> => [
  r.name,
  f(r.framesPerSecond),
  f(r.latencyMs.p50),
  f(r.latencyMs.p99),
  f(r.facesPerFrame, 2),
  f(r.coresUsed, 2),
  f(r.cpuMsPerFrame, 2),
  bound === undefined ? "–" : pct(r.framesPerSecond / bound)
]

const ratioRow = (label: string, pair: PeerPair): Array<string> => [
  label,
  `${pair.ratio.toFixed(2)}×`,
  "",
  "",
  "",
  "",
  `${pair.perCoreRatio.toFixed(2)}× per core`,
  ""
]

export const peerTable = (r: BenchResults): Table | undefined => {
  if (r.peer === undefined) return undefined
  const p = r.peer
  return [
    [
      "pipeline (same frames, same cores)",
      "frames/s",
      "p50 ms",
      "p99 ms",
      "faces/frame",
      "cores used",
      "CPU ms/frame",
      "of model bound"
    ],
    throughputRow(p.withoutReuse.ours, boundAt(r.modelBound, 1)),
    throughputRow(p.withoutReuse.peer),
    ratioRow("  ratio, no tracking/caching", p.withoutReuse),
    throughputRow(p.withReuse.ours, boundAt(r.modelBound, p.withReuse.ours.detectorShare)),
    throughputRow(p.withReuse.peer),
    ratioRow("  ratio, tracking vs caching", p.withReuse)
  ]
}

export const boundTable = (r: BenchResults): Table => {
  const b = r.modelBound
  const row = (
    label: string,
    wall: ModelTiming | ModelBoundResult["best"],
    cpu: ModelTiming | ModelBoundResult["cpuBest"]
  ) => [
    label,
    f(wall.detectMs, 2),
    f(wall.meshMs, 2),
    f(wall.emotionMs, 2),
    f(cpu.detectMs, 2),
    f(cpu.meshMs, 2),
    f(cpu.emotionMs, 2),
    f((b.cores * 1000) / (wall.detectMs + wall.meshMs + wall.emotionMs))
  ]
  return [
    ["batch", "blazeface ms", "facemesh ms", "emotion ms", "CPU blazeface", "CPU facemesh", "CPU emotion", "frames/s"],
    ...b.timings.map((t, i) => row(`batch ${t.batch}`, t, b.cpuTimings[i]!)),
    row(`best per model (bound)`, b.best, b.cpuBest)
  ]
}

export const idleTable = (r: BenchResults): Table | undefined =>
  r.idle === undefined
    ? undefined
    : [
        ["idle sockets", "opened", "refused", "RSS before MB", "RSS after MB", "kB per socket", "connect s"],
        [
          String(r.idle.sockets),
          String(r.idle.opened),
          String(r.idle.refused),
          f(r.idle.rssMBBefore, 0),
          f(r.idle.rssMBAfter, 0),
          f(r.idle.kBPerSocket),
          f(r.idle.connectSeconds)
        ]
      ]

export const targetsTable = (r: BenchResults): Table => [
  ["target", "measured", "met"],
  ...judgeTargets(r).map((t) => [t.target, t.measured, t.met === undefined ? "–" : t.met ? "yes" : "NO"])
]

const clusterRuns = (r: BenchResults): Array<LoadRunResult> =>
  r.cluster === undefined
    ? []
    : [
        ...r.cluster.rounds.flatMap((x) => [x.single.run, x.cluster.run]),
        ...r.cluster.relay.flatMap((x) => [x.local, x.relayed])
      ]

const perFrame = (cores: number | undefined, framesPerSecond: number | undefined) =>
  cores === undefined || framesPerSecond === undefined || framesPerSecond <= 0
    ? undefined
    : (cores * 1000) / framesPerSecond

const times = (ratio: number | undefined) => (ratio === undefined ? "–" : `${ratio.toFixed(2)}×`)

/** `--cluster N`: the overhead ratio, each node of the cluster runs, and the relay's own cost. */
export const clusterSections = (r: BenchResults): Array<{ title: string; table: Table; note?: string }> => {
  const c = r.cluster
  if (c === undefined) return []
  const out: Array<{ title: string; table: Table; note?: string }> = []
  const row = (x: ClusterSide) => [
    x.label,
    `${x.urls.length} × ${x.workersPerNode}`,
    f(x.loadAverage, 2),
    f(x.idleCores, 2),
    f(x.run.stats.analysedFps),
    pct(x.run.stats.shedRatio, 2),
    f(x.run.stats.latencyMs.p50),
    f(x.run.stats.latencyMs.p99),
    f(x.run.engine.cpuCores, 2),
    f(x.cpuMsPerFrame, 2),
    f(x.cpuMsPerFrameSent, 2),
    f(x.postgresCores, 3)
  ]
  const blank = (n: number) => Array.from({ length: n }, () => "")
  const several = c.rounds.length > 1
  const shares = c.rounds.map((x) => x.relayedShare).filter((v) => v !== undefined)
  out.push({
    title: `Cluster overhead (the same load and frames: 1 node, then ${c.nodes} cluster nodes)`,
    table: [
      [
        "engine",
        "nodes × workers",
        "load avg",
        "idle cores",
        "analysed/s",
        "shed",
        "p50 ms",
        "p99 ms",
        "engine cores",
        "CPU ms/frame",
        "per frame sent",
        "Postgres cores"
      ],
      ...c.rounds.flatMap((x) => [
        row(x.single),
        row(x.cluster),
        ...(several ? [[`  ratio${x.single.label.replace(/^1 node/, "")}`, ...blank(8), times(x.ratio), "", ""]] : [])
      ]),
      [
        several ? "ratio, cluster ÷ 1 node, every round" : "ratio, cluster ÷ 1 node",
        ...blank(8),
        times(c.ratio),
        times(c.ratioPerSent),
        ""
      ]
    ],
    note: `CPU ms/frame: every node's process CPU (all threads) over the measured window ÷ frames analysed, as the candidates counted them (per frame sent: ÷ frames the candidates sent, which moves less when a side sheds${several ? "; every round: all of a side's CPU ÷ all its frames" : ""}); idle cores: the same engines with no candidate, just before the load (included in CPU ms/frame). In the cluster runs the candidates' sockets were spread round-robin over the nodes${shares.length === 0 ? "" : `: ${shares.map((v) => pct(v, 0)).join(", ")} of them were not on their session's owner, so their frames were relayed`}. Postgres cores: the database server's backends for that side's database over the whole phase (connecting and warm-up included), when the server runs on this machine; they are not in CPU ms/frame, and neither is Redis.`
  })
  const withNodes = c.rounds.filter((x) => (x.cluster.run.engine.nodes ?? []).length > 0)
  if (withNodes.length > 0) {
    out.push({
      title: `Cluster nodes (the ${c.nodes}-node runs, each node's /metrics)`,
      table: [
        ["run", "node", "sockets", "owned frames/s", "cores", "main thread cores", "worker cores", "RSS MB"],
        ...withNodes.flatMap((x) =>
          (x.cluster.run.engine.nodes ?? []).map((n) => [
            x.cluster.label,
            n.url,
            f(n.sockets, 0),
            f(n.analysedPerSecond),
            f(n.cpuCores, 2),
            f(n.mainCores, 2),
            f(n.workerCores, 2),
            f(n.rssMBMax, 0)
          ])
        )
      ],
      note: "sockets: candidate sockets open on the node (its own sessions' and relayed ones); owned frames/s: frames analysed by the sessions the node owns (candor_frames_analyzed_total)"
    })
  }
  const first = c.relay[0]
  if (first !== undefined) {
    const phaseRows = (label: string, run: LoadRunResult, list: RelayCost["localNodes"]) =>
      list.map((n) => [
        `${label}${run.name.replace(/^relay( \(round \d+\))?: .*$/, "$1")}`,
        `${n.url} (${n.role})`,
        f(n.node.sockets, 0),
        f(n.node.analysedPerSecond),
        f(n.node.cpuCores, 2),
        f(n.node.mainCores, 2),
        f(perFrame(n.node.cpuCores, run.stats.analysedFps), 2)
      ])
    out.push({
      title: `The relay's own cost (${first.sessions} candidates at ${first.fps} fps, every session owned by ${first.owner})`,
      table: [
        ["phase", "node", "sockets", "owned frames/s", "cores", "main thread cores", "CPU ms per analysed frame"],
        ...c.relay.flatMap((x) => [
          ...phaseRows("sockets on the owner", x.local, x.localNodes),
          ...phaseRows("sockets on another node", x.relayed, x.relayedNodes)
        ])
      ],
      note: "CPU ms per analysed frame: the node's cores over the window ÷ the frames the candidates had analysed in it (a node that holds no socket and owns no session still costs its cluster membership)"
    })
    const diff = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? undefined : a - b
    const measures: Array<[string, (x: RelayCost) => number | undefined]> = [
      ["owner, sockets its own (socket, session, inference)", (x) => x.ownerMsLocal],
      ["owner, every frame relayed to it", (x) => x.ownerMsRelayed],
      ["  owner's extra for a relayed frame", (x) => diff(x.ownerMsRelayed, x.ownerMsLocal)],
      ["relaying node, above its own without sockets (per frame it received)", (x) => x.relayMsPerFrame],
      ["whole cluster, sockets on the owner", (x) => x.clusterMsLocal],
      ["whole cluster, sockets on another node", (x) => x.clusterMsRelayed],
      ["  relaying a frame, in all (difference)", (x) => diff(x.clusterMsRelayed, x.clusterMsLocal)],
      ["analysed/s, sockets on the owner", (x) => x.local.stats.analysedFps],
      ["analysed/s, sockets on another node", (x) => x.relayed.stats.analysedFps]
    ]
    out.push({
      title: "What relaying a frame costs (CPU ms per analysed frame)",
      table: [
        ["measure", ...c.relay.map((_, i) => (several ? `round ${i + 1}` : "ms"))],
        ...measures.map(([label, pick]) => [
          label,
          ...c.relay.map((x) => f(pick(x), label.startsWith("analysed") ? 1 : 2))
        ])
      ],
      note: `same cluster, same owner, same offered load; fresh interviews per phase, the phases one after the other${several ? " (their order alternating between rounds)" : ""}; load average ${c.relay.map((x) => x.loadAverage).join(", ")} before each round. Where a phase shed frames (analysed/s below ${f(first.sessions * first.fps, 0)}), the owner's fixed per-session cost is spread over fewer frames`
    })
  }
  const p = c.placement
  if (p !== undefined && p.rounds.length > 0) {
    const names = p.rounds[0]!.rows.map((row) => row.name)
    const cell = (round: PlacementRound, name: string, pick: (row: PlacementRow) => number) => {
      const row = round.rows.find((x) => x.name === name)
      return row === undefined ? undefined : pick(row)
    }
    out.push({
      title: "Where inference runs: what a frame costs to cross the cluster (CPU ms per frame)",
      table: [
        [
          "inference",
          "up / down bytes",
          ...p.rounds.flatMap((_, i) => [
            `socket's node${several ? ` r${i + 1}` : ""}`,
            `owner${several ? ` r${i + 1}` : ""}`,
            `both${several ? ` r${i + 1}` : ""}`
          ])
        ],
        ...names.map((name) => {
          const row = p.rounds[0]!.rows.find((x) => x.name === name)!
          return [
            name,
            `${row.upBytes} / ${row.downBytes}`,
            ...p.rounds.flatMap((round) => [
              f(
                cell(round, name, (x) => x.socketNodeMs),
                2
              ),
              f(
                cell(round, name, (x) => x.ownerMs),
                2
              ),
              f(
                cell(round, name, (x) => x.socketNodeMs + x.ownerMs),
                2
              )
            ])
          ]
        })
      ],
      note: `two runner processes with Candor's cluster layer on loopback, one holding every shard (the owner), the other none (the candidate socket's node); ${p.messages} paced frames at ${p.perSecond}/s over ${p.sessions} sessions per placement, each process's own CPU over the window less its idle use; the models cost the same on either node, so only the crossing differs${several ? "; the placements' order alternates between rounds" : ""}; load average ${p.rounds.map((x) => x.loadAverage).join(", ")} before each round`
    })
  }
  return out
}

/** Every section that has data, in the order a reader needs them. */
export const sections = (r: BenchResults): Array<{ title: string; table: Table; note?: string }> => {
  const out: Array<{ title: string; table: Table; note?: string }> = []
  out.push({
    title: `Model-only bound (ONNX only, one worker per core on ${r.modelBound.cores} cores; ms per frame)`,
    table: boundTable(r),
    note: "wall: median time of a call on a core; CPU: the process's CPU time per item, which other load on the machine does not inflate"
  })
  const runs = [
    ...(r.load === undefined ? [] : [r.load]),
    ...(r.saturate === undefined ? [] : [r.saturate]),
    ...(r.findMax?.steps ?? []),
    ...clusterRuns(r)
  ]
  if (runs.length > 0) {
    out.push({
      title: "Load over WebSockets",
      table: loadTable(runs),
      note: "* = the load generator, not the engine, limited the run (late sends or a stalled event loop)"
    })
  }
  const staged = runs.filter((x) => Object.keys(x.engine.stageMs).length > 0)
  if (staged.length > 0) {
    out.push({
      title: "Inside the engine's inference pool (mean ms per frame, from /metrics)",
      table: [
        [
          "run",
          "decode",
          "detect",
          "mesh",
          "emotion",
          "worker total",
          "engine CPU ms/frame",
          "batch",
          "detector share",
          "loop p99 ms",
          "loop max ms",
          "stalls > 50 ms"
        ],
        ...staged.map((x) => [
          x.name,
          f(x.engine.stageMs.decode, 2),
          f(x.engine.stageMs.detect, 2),
          f(x.engine.stageMs.mesh, 2),
          f(x.engine.stageMs.emotion, 2),
          f(x.engine.stageMs.total, 2),
          f(cpuMsPerAnalysedFrame(x.engine.cpuCores, x.stats.analysedFps), 2),
          f(x.engine.meanBatch, 2),
          pct(x.engine.detectorShare),
          f(x.engine.loopP99Ms, 0),
          f(x.engine.loopMaxMs, 0),
          f(x.engine.loopStalls, 0)
        ])
      ],
      note: "stage times are wall clock inside a worker (a batched call is shared out per frame); engine CPU counts every thread; loop: how late the engine's main thread ran a 20 ms timer (bucket upper bounds), where sockets, actors and sinks wait in turn"
    })
  }
  const split = runs.filter(
    (x) => x.engine.cpuCores !== undefined && x.engine.mainCores !== undefined && x.stats.analysedFps > 0
  )
  if (split.length > 0) {
    // The embedded database's thread gets a column when a run had one (PGlite); on PostgreSQL it is another process.
    const withDatabase = split.some((x) => x.engine.databaseCores !== undefined)
    out.push({
      title: "Where the engine's CPU goes (CPU ms per analysed frame, by thread, from /metrics)",
      table: [
        [
          "run",
          "engine",
          "main thread",
          "inference workers",
          ...(withDatabase ? ["database thread"] : []),
          "native helpers"
        ],
        ...split.map((x) => {
          const fps = x.stats.analysedFps
          const main = cpuMsPerAnalysedFrame(x.engine.mainCores, fps)
          const workers = cpuMsPerAnalysedFrame(x.engine.workerCores, fps)
          const database = cpuMsPerAnalysedFrame(x.engine.databaseCores, fps)
          const all = cpuMsPerAnalysedFrame(x.engine.cpuCores, fps)!
          return [
            x.name,
            f(all, 2),
            f(main, 2),
            f(workers, 2),
            ...(withDatabase ? [f(database, 2)] : []),
            f(
              main === undefined || workers === undefined
                ? undefined
                : Math.max(0, all - main - workers - (database ?? 0)),
              2
            )
          ]
        })
      ],
      note: "main thread: sockets, session actors, scorers, sinks, HTTP; inference workers: ONNX models, crops, result messages; database thread: the embedded database (PGlite), when the engine runs it; native helpers: every other thread (libvips JPEG decoding, garbage collection, libuv's pool)"
    })
  }
  out.push(...clusterSections(r))
  const timeline = (r.saturate ?? r.load ?? r.findMax?.steps.at(-1))?.series ?? []
  if (timeline.length > 0) {
    const every = Math.max(1, Math.ceil(timeline.length / 12))
    out.push({
      title: `Over time: ${(r.saturate ?? r.load ?? r.findMax?.steps.at(-1))!.name} (from /metrics, once a second)`,
      table: [
        [
          "t s",
          "candidates",
          "analysed/s",
          "p99 ms",
          "engine loop p99 ms",
          "engine cores",
          "RSS MB",
          "queue",
          "batch",
          "generator cores"
        ],
        ...timeline
          .filter((_, i) => i % every === 0)
          .map((p) => [
            f(p.t, 0),
            String(p.sessions),
            f(p.analysedFps),
            f(p.p99Ms),
            f(p.loopP99Ms, 0),
            f(p.engineCpuCores, 2),
            f(p.engineRssMB, 0),
            f(p.queueDepth, 0),
            f(p.meanBatch, 2),
            f(p.generatorCpuCores, 2)
          ])
      ],
      note: "analysed/s and p99 over the 2 s ending a second before each sample; the full series is in the JSON output"
    })
  }
  const e = r.efficiency
  if (e?.projectedFramesPerSecond !== undefined) {
    const fps = r.options.fps
    out.push({
      title: "Capacity on free cores (from the engine's CPU time per frame)",
      table: [
        [
          "engine CPU ms/frame",
          `frames/s on ${r.modelBound.cores} free cores`,
          `candidates at ${fps} fps (100 % busy)`
        ],
        [f(e.cpuMsPerFrame, 2), f(e.projectedFramesPerSecond), f(e.projectedFramesPerSecond / fps, 0)]
      ],
      note: "a projection for a machine nobody else uses: CPU time per frame hardly depends on other load, wall-clock throughput does"
    })
  }
  if (r.findMax !== undefined) {
    out.push({
      title: "Find max",
      table: [
        ["most candidates within budget", "stopped because"],
        [String(r.findMax.maxSessions), r.findMax.stoppedBecause]
      ]
    })
  }
  if (r.efficiency !== undefined || r.peer !== undefined) {
    out.push({
      title: "Pipeline efficiency",
      table: [
        [
          "measure",
          "frames/s",
          "bound frames/s",
          "efficiency",
          "CPU ms/frame",
          "model CPU ms/frame",
          "on CPU obtained",
          "detector share"
        ],
        ...(e === undefined
          ? []
          : [
              [
                "end to end (WebSocket, saturated)",
                f(e.framesPerSecond),
                f(e.boundFramesPerSecond),
                pct(e.efficiency),
                f(e.cpuMsPerFrame, 2),
                f(e.boundMsPerFrame, 2),
                pct(e.cpuEfficiency),
                `${pct(e.detectorShare)} (${e.detectorShareSource})`
              ]
            ]),
        ...(r.peer === undefined
          ? []
          : [r.peer.withoutReuse.ours, r.peer.withReuse.ours].map((o) => {
              const modelMs = boundMsPerFrame(r.modelBound, o.detectorShare, "cpu")
              return [
                `inference pool only (${o.name.replace(/^Candor, /, "")})`,
                f(o.framesPerSecond),
                f(boundAt(r.modelBound, o.detectorShare)),
                pct(o.framesPerSecond / boundAt(r.modelBound, o.detectorShare)),
                f(o.cpuMsPerFrame, 2),
                f(modelMs, 2),
                pct(modelMs / o.cpuMsPerFrame),
                pct(o.detectorShare)
              ]
            }))
      ]
    })
  }
  const server = e?.throughServer
  if (e !== undefined && server !== undefined) {
    out.push({
      title: "What the server adds (end to end ÷ the same pipeline in process, same run)",
      table: [
        ["measure", "frames/s", "CPU ms/frame", "detector share"],
        [
          server.inProcessName,
          f(server.inProcessFramesPerSecond),
          f(server.inProcessCpuMsPerFrame, 2),
          pct(server.inProcessDetectorShare)
        ],
        ["end to end (WebSocket, saturated)", f(e.framesPerSecond), f(e.cpuMsPerFrame, 2), pct(e.detectorShare)],
        ["efficiency (end to end ÷ in process)", pct(server.efficiency), pct(server.cpuEfficiency), ""]
      ],
      note: "in process: the engine's inference pool (decode, models, tracking) in the bench's process with no engine beside it; end to end adds sockets, session actors, scoring and storage, and shares the cores with the load generator. CPU efficiency: in-process CPU per frame ÷ the engine's"
    })
  }
  if (r.peer !== undefined) {
    out.push({
      title: "Inside our pool's workers (mean ms per frame)",
      table: [
        [
          "run",
          "decode",
          "detect",
          "mesh",
          "emotion",
          "worker total",
          "main thread",
          "process CPU",
          "batch",
          "detector share"
        ],
        ...[r.peer.withoutReuse.ours, r.peer.withReuse.ours].map((o) => [
          o.name,
          f(o.stageMs.decode, 2),
          f(o.stageMs.detect, 2),
          f(o.stageMs.mesh, 2),
          f(o.stageMs.emotion, 2),
          f(o.stageMs.total, 2),
          f(o.mainThreadMsPerFrame, 2),
          f(o.cpuMsPerFrame, 2),
          f(o.meanBatch, 2),
          pct(o.detectorShare)
        ])
      ],
      note: "stage and worker times are wall clock inside a worker (cropping and post-processing included); main thread: the pool's dispatch and result handling, busy ms per frame; process CPU: every thread (libvips decoding included)"
    })
  }
  const peer = peerTable(r)
  if (peer !== undefined) {
    out.push({
      title: `Ours vs peer (@vladmandic/human ${r.peer!.humanVersion}, tfjs-wasm, ${r.peer!.cores} workers)`,
      table: peer,
      note: "per core: frames per core-second obtained (the peer's CPU ms per frame over ours), the fair ratio when other work on the machine gives one side fewer cores than the other; the targets are judged on it"
    })
  }
  if (r.compare !== undefined) {
    out.push({
      title: "Engine settings compared (each on a fresh engine)",
      table: loadTable(
        r.compare
          .flatMap((c) => [c.saturate, c.paced])
          .map((x, i) => ({ ...x, name: `${r.compare![Math.floor(i / 2)]!.name}: ${x.name}` }))
      )
    })
  }
  const idle = idleTable(r)
  if (idle !== undefined) out.push({ title: "Idle candidate sockets", table: idle })
  for (const p of r.profiles ?? []) {
    out.push({
      title: `Engine profile: ${p.file} (busy ${p.busySeconds.toFixed(1)} of ${p.sampledSeconds.toFixed(1)} s)`,
      table: [["function (self time)", "s", "of busy"], ...p.top.map((t) => [t.name, f(t.seconds, 2), pct(t.share)])]
    })
  }
  out.push({ title: "Targets (2-core machine)", table: targetsTable(r) })
  return out
}

export const formatText = (r: BenchResults): string => {
  const lines: Array<string> = []
  const m = r.machine
  lines.push(
    `candor bench — ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, load average ${m.loadAverage} at start`,
    `frames: ${r.frames.clips} clips × ${r.frames.framesPerClip}, ${r.frames.width}×${r.frames.height} JPEG, ${(r.frames.meanBytes / 1000).toFixed(1)} kB mean; engine ${r.engine.url || "–"} (${r.engine.database || "not started"})`
  )
  for (const s of sections(r)) {
    lines.push("", s.title, textTable(s.table))
    if (s.note !== undefined) lines.push(s.note)
  }
  for (const w of r.warnings) lines.push("", `warning: ${w}`)
  return `${lines.join("\n")}\n`
}
