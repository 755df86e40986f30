/**
 * A stand-in engine that speaks the documented candidate protocol and recruiter API, with scripted behaviour
 * (answer delay, frames shed with an error, frames never answered), so the load generator's bookkeeping can be
 * checked exactly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"

export interface FakeEngineOptions {
  /** Delay before each analysis is sent. */
  readonly analysisDelayMs: number
  /** When set, asked for each frame's delay instead (a script that changes during a run). */
  readonly delayFor?: () => number
  /** Every n-th frame (by seq, from 1) is answered with `error frame_shed` instead. 0: never. */
  readonly shedEvery: number
  /** Every n-th frame is never answered. 0: never. */
  readonly ignoreEvery: number
  readonly maxFps: number
  /** Each interview's first socket is cut (no close frame) after this many frames. 0: never. */
  readonly dropAfterFrames?: number
  /** Interviews (id → candidate token) shared with other fakes: nodes of one cluster, any of which serves any. */
  readonly interviews?: Map<string, string>
}

export interface FakeEngine {
  readonly url: string
  readonly apiKey: string
  readonly framesReceived: () => number
  readonly answers: () => Array<{ interviewId: string; questionId: string }>
  /** Frames whose header did not follow the protocol. */
  readonly badFrames: () => number
  readonly close: () => Promise<void>
}

const QUESTIONS = 3

export const startFakeEngine = async (options: FakeEngineOptions): Promise<FakeEngine> => {
  const apiKey = "fake-key"
  let interviews = 0
  let frames = 0
  let bad = 0
  const answers: Array<{ interviewId: string; questionId: string }> = []
  const tokens = options.interviews ?? new Map<string, string>()
  /** Per interview, so a reconnecting candidate resumes where it was. */
  const progress = new Map<string, { index: number; dropped: boolean }>()

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: string, type = "application/json") => {
      res.writeHead(status, { "content-type": type })
      res.end(body)
    }
    if (req.method === "POST" && req.url === "/v1/interviews") {
      if (req.headers.authorization !== `Bearer ${apiKey}`) return send(401, '{"error":{"code":"unauthorized"}}')
      let body = ""
      req.on("data", (d) => (body += d))
      req.on("end", () => {
        const parsed = JSON.parse(body) as { questions: Array<unknown> }
        if (parsed.questions.length !== QUESTIONS) return send(400, '{"error":{"code":"validation"}}')
        const id = `iv-${++interviews}`
        tokens.set(id, `token-${id}`)
        send(201, JSON.stringify({ id, candidateToken: `token-${id}`, joinUrl: "", streamUrl: "", expiresAt: "" }))
      })
      return
    }
    const consent = /^\/v1\/interviews\/([^/]+)\/consents$/.exec(req.url ?? "")
    if (req.method === "POST" && consent !== null) {
      // Candidates record their consent before they stream, as the engine requires.
      const id = decodeURIComponent(consent[1]!)
      if (req.headers.authorization !== `Bearer ${tokens.get(id)}`)
        return send(401, '{"error":{"code":"unauthorized"}}')
      req.resume()
      req.on("end", () => send(201, JSON.stringify({ id: `c-${id}` })))
      return
    }
    if (req.method === "GET" && req.url === "/metrics") {
      const u = process.cpuUsage()
      return send(
        200,
        [
          `process_cpu_seconds_total ${(u.user + u.system) / 1e6}`,
          `process_resident_memory_bytes ${process.memoryUsage().rss}`,
          "candor_inference_queue_depth 0",
          `candor_inference_batch_size_sum ${frames}`,
          `candor_inference_batch_size_count ${frames}`
        ].join("\n"),
        "text/plain"
      )
    }
    send(404, "{}")
  })

  const wss = new WebSocketServer({ noServer: true })
  http.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "", "http://x")
    const m = /^\/v1\/interviews\/([^/]+)\/stream$/.exec(url.pathname)
    if (m === null || tokens.get(m[1]!) !== url.searchParams.get("token")) {
      socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n")
      return
    }
    const interviewId = m[1]!
    wss.handleUpgrade(req, socket, head, (ws) => {
      const state = progress.get(interviewId) ?? { index: -1, dropped: false }
      progress.set(interviewId, state)
      let framesHere = 0
      const questionOf = (index: number) => ({
        _tag: "question",
        questionId: `q${index}`,
        index,
        prompt: "?",
        count: QUESTIONS
      })
      const question = () => ws.send(JSON.stringify(questionOf(state.index)))
      ws.send(
        JSON.stringify({
          _tag: "session",
          interviewId,
          status: state.index < 0 ? "waiting" : "question",
          question: state.index < 0 ? null : questionOf(state.index),
          answered: [],
          questionCount: QUESTIONS,
          affectSignals: true,
          maxFps: options.maxFps,
          lastSeq: -1,
          resumed: state.index >= 0
        })
      )
      ws.on("message", (data, isBinary) => {
        if (!isBinary) {
          const msg = JSON.parse(data.toString()) as { _tag: string; questionId?: string }
          if (msg._tag === "start" && state.index < 0) {
            state.index = 0
            question()
          } else if (msg._tag === "answer") {
            answers.push({ interviewId, questionId: msg.questionId! })
            ws.send(JSON.stringify({ _tag: "answerSaved", questionId: msg.questionId, answerId: "a" }))
          } else if (msg._tag === "next" && state.index + 1 < QUESTIONS) {
            state.index++
            question()
          }
          return
        }
        const buf = data as Buffer
        if (buf.length < 16 || buf[0] !== 1 || buf[1] !== 1 || buf[14] !== 0xff || buf[15] !== 0xd8) {
          bad++
          return
        }
        frames++
        if (options.dropAfterFrames !== undefined && !state.dropped && ++framesHere >= options.dropAfterFrames) {
          state.dropped = true
          ws.terminate()
          return
        }
        const seq = buf.readUInt32BE(2)
        const capturedAt = buf.readDoubleBE(6)
        const n = seq + 1
        if (options.ignoreEvery > 0 && n % options.ignoreEvery === 0) return
        if (options.shedEvery > 0 && n % options.shedEvery === 0) {
          ws.send(JSON.stringify({ _tag: "error", code: "frame_shed", message: "busy", seq }))
          return
        }
        setTimeout(() => {
          if (ws.readyState !== ws.OPEN) return
          ws.send(
            JSON.stringify({
              _tag: "analysis",
              seq,
              capturedAt,
              faces: [{ box: [1, 2, 3, 4], score: 0.99, ear: 0.3, eyesClosed: false, emotion: null }]
            })
          )
        }, options.delayFor?.() ?? options.analysisDelayMs)
      })
    })
  })

  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  const port = (http.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    framesReceived: () => frames,
    answers: () => [...answers],
    badFrames: () => bad,
    close: async () => {
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await new Promise<void>((resolve) => http.close(() => resolve()))
    }
  }
}
