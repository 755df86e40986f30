/**
 * `/v1/openapi.json`, generated from the route table: the Schemas that validate requests and encode responses
 * are the ones documented here, so the document cannot drift from the code.
 */
import { Schema } from "effect"
import { ErrorBody } from "../../schemas/Api.ts"
import { requiredRole, type Route } from "./Route.ts"

type JsonSchema = Record<string, unknown>

const toComponentRefs = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(toComponentRefs)
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        k === "$ref" && typeof v === "string" ? v.replace("#/$defs/", "#/components/schemas/") : toComponentRefs(v)
    }
    return out
  }
  return value
}

const statusText: Record<number, string> = {
  400: "Invalid request (the message names the field)",
  401: "Missing or invalid API key",
  403: "Not allowed (an API key whose role is below the one this operation needs)",
  404: "Not found (or not this tenant's)",
  405: "Method not allowed",
  409: "Conflict",
  413: "Body too large",
  415: "Body is not JSON",
  503: "A dependency is unavailable"
}

export interface OpenApiInfo {
  readonly title: string
  readonly version: string
  readonly description: string
}

export const makeOpenApi = (routes: ReadonlyArray<Route>, info: OpenApiInfo, serverUrl: string) => {
  const components: Record<string, JsonSchema> = {}
  const schemaOf = (schema: Schema.Top, strict: boolean): JsonSchema => {
    const doc = Schema.toJsonSchemaDocument(schema, strict ? { onExcessProperty: "error" } : {})
    for (const [name, def] of Object.entries(doc.definitions)) components[name] = toComponentRefs(def) as JsonSchema
    return toComponentRefs(doc.schema) as JsonSchema
  }
  const errorSchema = schemaOf(ErrorBody, false)
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    if (route.hidden === true) continue
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")
    const parameters: Array<unknown> = []
    for (const m of route.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
      parameters.push({ name: m[1], in: "path", required: true, schema: { type: "string" } })
    }
    if (route.query !== undefined) {
      const q = schemaOf(route.query, false) as { properties?: Record<string, JsonSchema>; required?: Array<string> }
      for (const [name, s] of Object.entries(q.properties ?? {})) {
        const { description, ...rest } = s as JsonSchema & { description?: string }
        parameters.push({
          name,
          in: "query",
          required: (q.required ?? []).includes(name),
          schema: rest,
          ...(description === undefined ? {} : { description })
        })
      }
    }
    const responses: Record<string, unknown> = {}
    for (const [status, doc] of Object.entries(route.responses)) {
      responses[status] =
        doc.schema === undefined && doc.contentType === undefined
          ? { description: doc.description }
          : {
              description: doc.description,
              content: {
                [doc.contentType ?? "application/json"]: {
                  schema: doc.schema === undefined ? { type: "string" } : schemaOf(doc.schema, false)
                },
                ...Object.fromEntries((doc.alternatives ?? []).map((type) => [type, { schema: { type: "string" } }]))
              }
            }
    }
    const errorStatuses = new Set<number>([400])
    if (route.access !== "public") errorStatuses.add(401)
    if (route.access === "apiKey" || route.access === "admin") errorStatuses.add(403)
    if (route.path.includes(":")) errorStatuses.add(404)
    if (route.body !== undefined || route.rawBody !== undefined) for (const s of [413, 415]) errorStatuses.add(s)
    for (const s of errorStatuses) {
      responses[String(s)] ??= {
        description: statusText[s] ?? "Error",
        content: { "application/json": { schema: errorSchema } }
      }
    }
    paths[path] ??= {}
    paths[path]![route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.access === "apiKey"
        ? {
            description: `Needs an API key with role \`${requiredRole(route)}\` or above (reader < recruiter < admin).`,
            "x-candor-role": requiredRole(route)
          }
        : {}),
      tags: route.tags,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body !== undefined
        ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(route.body, true) } } } }
        : route.rawBody !== undefined
          ? {
              requestBody: {
                required: true,
                description: `At most ${route.rawBody.maxBytes} bytes.`,
                content: Object.fromEntries(
                  route.rawBody.contentTypes.map((type) => [type, { schema: { type: "string", format: "binary" } }])
                )
              }
            }
          : {}),
      responses,
      security:
        route.access === "apiKey" ? [{ apiKey: [] }] : route.access === "candidate" ? [{ candidateToken: [] }] : []
    }
  }
  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: serverUrl }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "Tenant API key (`cnd_…`), from `candor seed`." },
        candidateToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The candidate's join token for this interview (`candidateToken` from interview creation)."
        }
      }
    }
  }
}
