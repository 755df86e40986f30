/**
 * Quick in-process measurement of live sessions (not a benchmark; bench/ is the reference): frames per second one
 * session gets through with a few frames outstanding, and 20 sessions at 5 fps, with frame→analysis latency as
 * the candidate sees it (send to reply). One real face, 640×480 JPEG, repeated as a webcam stream would be (so face
 * tracking holds and the detector runs every 10th frame); embedded database.
 *   npx tsx test/sessions/support/measureSessions.ts [seconds]
 */
import { Client } from "./Candidate.ts"
import { startEngine } from "./Engine.ts"
import { singleFace } from "./faces.ts"

const seconds = Number(process.argv[2] ?? 12)
const face = await singleFace()

const percentile = (xs: Array<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/** A started session whose analyses are timed against the send time of their frame. */
const session = async (wsUrl: string, seed: { interviewId: string; candidateToken: string }) => {
  const c = await Client.candidate(wsUrl, seed.interviewId, seed.candidateToken)
  c.send({ _tag: "start" })
  await c.next("question", 0)
  const sentAt = new Map<number, number>()
  const latencies: Array<number> = []
  let replies = 0
  let errors = 0
  c.ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { _tag: string; seq?: number }
    if (m._tag !== "analysis" && !(m._tag === "error" && m.seq !== undefined)) return
    replies++
    if (m._tag === "error") errors++
    const t = sentAt.get(m.seq!)
    if (t !== undefined && m._tag === "analysis") latencies.push(performance.now() - t)
    sentAt.delete(m.seq!)
  })
  let seq = 0
  const send = () => {
    sentAt.set(seq, performance.now())
    c.sendFrame(seq, face)
    seq++
  }
  return { c, send, latencies, sent: () => seq, replies: () => replies, errors: () => errors }
}

const engine = await startEngine({ PGLITE_DIR: ":memory:", CANDOR_DEMO: "false" }, { pool: {}, maxFps: 10_000 })
try {
  // One session, closed loop: keep 6 frames outstanding.
  const one = await session(engine.wsUrl, await engine.seed())
  for (let i = 0; i < 6; i++) one.send()
  const warm = Date.now() + 2_000
  while (Date.now() < warm) await new Promise((r) => setTimeout(r, 5))
  const before = { replies: one.replies(), latencies: one.latencies.length }
  const started = performance.now()
  const stopAt = Date.now() + seconds * 1000
  one.c.ws.on("message", () => {
    if (Date.now() < stopAt && one.sent() - one.replies() < 6) one.send()
  })
  one.send()
  while (Date.now() < stopAt) await new Promise((r) => setTimeout(r, 50))
  const elapsed = (performance.now() - started) / 1000
  const oneLat = one.latencies.slice(before.latencies)
  console.log(
    `1 session, 6 outstanding: ${((one.replies() - before.replies) / elapsed).toFixed(1)} frames/s, ` +
      `latency p50 ${percentile(oneLat, 50).toFixed(1)} ms, p99 ${percentile(oneLat, 99).toFixed(1)} ms, errors ${one.errors()}`
  )
  one.c.close()

  // 20 sessions at 5 fps, open loop.
  const many = await Promise.all(Array.from({ length: 20 }, async () => session(engine.wsUrl, await engine.seed())))
  const timers = many.map((s, i) =>
    setTimeout(() => {
      s.send()
      timers[i] = setInterval(s.send, 200) as unknown as ReturnType<typeof setTimeout>
    }, i * 10)
  )
  await new Promise((r) => setTimeout(r, 2_000))
  const base = many.map((s) => ({ replies: s.replies(), latencies: s.latencies.length, sent: s.sent() }))
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, seconds * 1000))
  const dt = (performance.now() - t0) / 1000
  for (const t of timers) clearInterval(t)
  const replies = many.reduce((n, s, i) => n + s.replies() - base[i]!.replies, 0)
  const sent = many.reduce((n, s, i) => n + s.sent() - base[i]!.sent, 0)
  const lat = many.flatMap((s, i) => s.latencies.slice(base[i]!.latencies))
  console.log(
    `20 sessions at 5 fps: sent ${(sent / dt).toFixed(1)} frames/s, answered ${(replies / dt).toFixed(1)} frames/s, ` +
      `latency p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms, ` +
      `errors ${many.reduce((n, s) => n + s.errors(), 0)}`
  )
  for (const s of many) s.c.close()
} finally {
  await engine.close()
  process.exit(0)
}
