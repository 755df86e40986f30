/**
 * A real HTTP server on 127.0.0.1 that speaks enough of the OpenAI API for
 * tests: `POST /v1/chat/completions` (structured-output gradings) and
 * `POST /v1/audio/transcriptions` (multipart upload). Behaviour is scripted
 * per request; every request is recorded.
 *
 * The default grading reads the criterion ids from the request's strict JSON
 * schema and the answer from the `<answer>` block of the last user message,
 * and rates every criterion 4 quoting the answer's first sentence. Like the
 * real API it rejects a `json_schema` response format that is not strict-mode
 * compatible with HTTP 400.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface FakeRequest {
  /** 0-based order of arrival. */
  readonly index: number
  readonly path: string
  /** Bearer token the request was sent with. */
  readonly apiKey: string
  /** Parsed JSON body (chat), or the multipart fields (audio: `model`, `fileName`, `fileType`, `fileBytes`, …). */
  readonly body: any
}

export type FakeReply =
  /** A successful chat completion; `content` is the model's message (default: the grader's JSON). */
  | { readonly kind: "grade"; readonly content?: string | object }
  /** An HTTP error with an OpenAI-style error body. */
  | {
      readonly kind: "status"
      readonly status: number
      readonly headers?: Readonly<Record<string, string>>
      readonly code?: string
      readonly message?: string
    }
  /** Never answers (the client's timeout must fire). */
  | { readonly kind: "hang" }
  /** Waits, then replies. */
  | { readonly kind: "delay"; readonly ms: number; readonly reply: FakeReply }
  /** A successful transcription. */
  | { readonly kind: "transcript"; readonly text: string }

export interface GradeContext {
  readonly request: FakeRequest
  readonly criterionIds: ReadonlyArray<string>
  readonly answer: string
}

export interface FakeOpenAiOptions {
  /** Keys that get 401 on every request. */
  readonly revokedKeys?: ReadonlyArray<string>
  /** Replies used in order, one per request that reaches scripting; then `respond`, then the default. */
  readonly script?: ReadonlyArray<FakeReply>
  /** Decides a reply per request; `undefined` falls through to the default. */
  readonly respond?: (request: FakeRequest) => FakeReply | undefined
  /** Builds the model's JSON for a default `grade` reply. */
  readonly grade?: (context: GradeContext) => object
  /** Text of default transcriptions. */
  readonly transcript?: string
}

export interface FakeOpenAi {
  /** Base URL including `/v1`, for the SDK's `baseURL`. */
  readonly url: string
  readonly requests: ReadonlyArray<FakeRequest>
  readonly close: () => Promise<void>
}

/** The `<answer>` block of the last user message (as the v1 prompt lays it out). */
export const answerOf = (body: any): string => {
  const messages: ReadonlyArray<{ role: string; content: string }> = body?.messages ?? []
  const user = [...messages].reverse().find((m) => m.role === "user")?.content ?? ""
  const match = /<answer>\n([\s\S]*)\n<\/answer>\s*$/u.exec(user)
  return match?.[1] ?? ""
}

/** Criterion ids of a grading request, from its response JSON schema. */
export const criterionIdsOf = (body: any): ReadonlyArray<string> =>
  Object.keys(body?.response_format?.json_schema?.schema?.properties?.criteria?.properties ?? {})

/** The answer's first sentence, verbatim. */
export const firstSentence = (answer: string): string => (/^[^.!?\n]+[.!?]?/u.exec(answer.trim())?.[0] ?? answer).trim()

export const defaultGrade = (context: GradeContext, score = 4): object => ({
  criteria: Object.fromEntries(
    context.criterionIds.map((id) => [
      id,
      { rationale: `Fake rationale for ${id}.`, evidence: [firstSentence(context.answer)], score }
    ])
  ),
  summary: "Fake grading: solid answer."
})

/** Problems that make the real API reject a strict json_schema (a subset of its rules). */
export const strictSchemaProblems = (schema: any, path = ""): ReadonlyArray<string> => {
  if (typeof schema !== "object" || schema === null) return []
  const problems: Array<string> = []
  if (schema.type === "object") {
    const names = Object.keys(schema.properties ?? {})
    const required: ReadonlyArray<string> = schema.required ?? []
    if (schema.additionalProperties !== false) problems.push(`${path || "/"}: additionalProperties must be false`)
    for (const n of names) if (!required.includes(n)) problems.push(`${path}/${n}: must be required`)
  }
  for (const key of ["minLength", "maxLength", "uniqueItems", "dialect"]) {
    if (key in schema) problems.push(`${path || "/"}: unsupported keyword ${key}`)
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === "enum" || key === "required" || key === "const") continue
    if (typeof value === "object" && value !== null) problems.push(...strictSchemaProblems(value, `${path}/${key}`))
  }
  return problems
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

const parseMultipart = (body: Buffer, contentType: string): Record<string, unknown> => {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/u.exec(contentType)
  const fields: Record<string, unknown> = {}
  if (boundary === null) return fields
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`)
  let start = body.indexOf(delimiter)
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length)
    if (next < 0) break
    const part = body.subarray(start + delimiter.length + 2, next - 2)
    const split = part.indexOf("\r\n\r\n")
    const head = part.subarray(0, split).toString("utf8")
    const content = part.subarray(split + 4)
    const name = /name="([^"]*)"/u.exec(head)?.[1]
    const fileName = /filename="([^"]*)"/u.exec(head)?.[1]
    if (name === "file") {
      fields.fileName = fileName
      fields.fileType = /content-type:\s*([^\r\n]+)/iu.exec(head)?.[1]?.trim()
      fields.fileBytes = content.length
    } else if (name !== undefined) {
      fields[name] = content.toString("utf8")
    }
    start = next
  }
  return fields
}

const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

const errorBody = (message: string, type: string, code: string | null) => ({
  error: { message, type, code, param: null }
})

/** Starts the server on a random port. */
export const startFakeOpenAi = (options: FakeOpenAiOptions = {}): Promise<FakeOpenAi> => {
  const requests: Array<FakeRequest> = []
  const script = [...(options.script ?? [])]
  const revoked = new Set(options.revokedKeys ?? [])
  const timers = new Set<NodeJS.Timeout>()

  const reply = (res: ServerResponse, request: FakeRequest, r: FakeReply): unknown => {
    switch (r.kind) {
      case "hang":
        return
      case "delay": {
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (!res.destroyed) reply(res, request, r.reply)
        }, r.ms)
        timers.add(timer)
        return
      }
      case "status":
        return sendJson(
          res,
          r.status,
          errorBody(
            r.message ?? `fake error ${r.status}`,
            r.status === 429 ? "requests" : "server_error",
            r.code ?? null
          ),
          { ...r.headers }
        )
      case "transcript":
        return sendJson(res, 200, { text: r.text })
      case "grade": {
        const context: GradeContext = {
          request,
          criterionIds: criterionIdsOf(request.body),
          answer: answerOf(request.body)
        }
        const content =
          r.content === undefined
            ? JSON.stringify((options.grade ?? defaultGrade)(context))
            : typeof r.content === "string"
              ? r.content
              : JSON.stringify(r.content)
        return sendJson(res, 200, {
          id: `chatcmpl-fake-${request.index}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: request.body?.model ?? "fake",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content, refusal: null },
              finish_reason: "stop",
              logprobs: null
            }
          ],
          usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 }
        })
      }
    }
  }

  const server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const path = (req.url ?? "").split("?")[0]!
      const apiKey = /^Bearer (.+)$/u.exec(req.headers.authorization ?? "")?.[1] ?? ""
      const contentType = req.headers["content-type"] ?? ""
      let body: any
      try {
        body = contentType.startsWith("multipart/form-data")
          ? parseMultipart(raw, contentType)
          : JSON.parse(raw.toString("utf8") || "null")
      } catch {
        return sendJson(res, 400, errorBody("body is not JSON", "invalid_request_error", null))
      }
      const request: FakeRequest = { index: requests.length, path, apiKey, body }
      requests.push(request)
      const isChat = path === "/v1/chat/completions"
      const isAudio = path === "/v1/audio/transcriptions"
      if (req.method !== "POST" || (!isChat && !isAudio)) {
        return sendJson(res, 404, errorBody(`unknown route ${req.method} ${path}`, "invalid_request_error", null))
      }
      if (apiKey === "" || revoked.has(apiKey)) {
        return sendJson(res, 401, errorBody("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"))
      }
      if (isChat) {
        const format = body?.response_format
        if (format?.type === "json_schema") {
          const problems = format.json_schema?.strict === true ? strictSchemaProblems(format.json_schema.schema) : []
          if (problems.length > 0) {
            return sendJson(
              res,
              400,
              errorBody(`Invalid schema: ${problems.join("; ")}`, "invalid_request_error", null)
            )
          }
        }
      } else if (typeof body?.model !== "string" || body?.fileBytes === undefined) {
        return sendJson(res, 400, errorBody("model and file are required", "invalid_request_error", null))
      }
      const scripted = script.shift() ?? options.respond?.(request)
      const fallback: FakeReply = isAudio
        ? { kind: "transcript", text: options.transcript ?? "fake transcript" }
        : { kind: "grade" }
      reply(res, request, scripted ?? fallback)
    })
  })

  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            for (const t of timers) clearTimeout(t)
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
}
