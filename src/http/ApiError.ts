/**
 * The one error type a route returns. It carries its HTTP status and a stable code, and is rendered as
 * `{error: {code, message}}`.
 */
import { Schema } from "effect"

export class ApiError extends Schema.TaggedError<ApiError>()("ApiError", {
  status: Schema.Number,
  code: Schema.String,
  message: Schema.String
}) {
  static badRequest = (message: string, code = "bad_request") => new ApiError({ status: 400, code, message })
  static validation = (message: string) => new ApiError({ status: 400, code: "validation_error", message })
  static unauthorized = (message = "missing or invalid API key") =>
    new ApiError({ status: 401, code: "unauthorized", message })
  static forbidden = (message: string) => new ApiError({ status: 403, code: "forbidden", message })
  static notFound = (what: string) => new ApiError({ status: 404, code: "not_found", message: `${what} not found` })
  static methodNotAllowed = (allowed: ReadonlyArray<string>) =>
    new ApiError({ status: 405, code: "method_not_allowed", message: `method not allowed; use ${allowed.join(", ")}` })
  static conflict = (message: string) => new ApiError({ status: 409, code: "conflict", message })
  static payloadTooLarge = (limit: number) =>
    new ApiError({ status: 413, code: "payload_too_large", message: `request body exceeds ${limit} bytes` })
  static unsupportedMediaType = () =>
    new ApiError({ status: 415, code: "unsupported_media_type", message: "send the body as application/json" })
  static unavailable = (message: string) => new ApiError({ status: 503, code: "unavailable", message })
  static internal = () => new ApiError({ status: 500, code: "internal", message: "internal error; it has been logged" })
}

const reasons: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable"
}

/** `"404 Not Found"`, the form uWebSockets.js writes. */
export const statusLine = (status: number): string => `${status} ${reasons[status] ?? "Unknown"}`

export const errorJson = (error: ApiError): string =>
  JSON.stringify({ error: { code: error.code, message: error.message } })
