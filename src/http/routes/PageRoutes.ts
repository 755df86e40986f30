/**
 * The browser pages Candor serves itself: the recruiter console at `/`, the candidate page at `/join/:id` (the
 * join token rides in the URL fragment, which never reaches a server) and their scripts and styles under
 * `/assets/`. The files are hand-written in `web/`, with no build step; each page is sent with a Content Security
 * Policy that allows only Candor's own origin, so a page can make no third-party request.
 */
import { readFile, stat } from "node:fs/promises"
import { Effect } from "effect"
import { ApiError } from "../ApiError.ts"
import { type Reply, route } from "../Route.ts"

const webDir = new URL("../../../web/", import.meta.url)

const types: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  ico: "image/x-icon"
}

/** Asset names: flat, lower-case, one of the served types. */
const assetName = /^[a-z0-9][a-z0-9-]*\.(js|css|svg|ico)$/

/** Files as last read, by name; read again when changed on disk (an edited page shows on reload). */
const cache = new Map<string, { readonly mtimeMs: number; readonly bytes: Uint8Array }>()

const load = (name: string) =>
  Effect.tryPromise({
    try: async () => {
      const file = new URL(name, webDir)
      const { mtimeMs } = await stat(file)
      const cached = cache.get(name)
      if (cached !== undefined && cached.mtimeMs === mtimeMs) return cached.bytes
      const bytes = new Uint8Array(await readFile(file))
      cache.set(name, { mtimeMs, bytes })
      return bytes
    },
    catch: () => ApiError.notFound(name)
  })

/** Only Candor's own origin, its WebSockets included; no inline scripts or styles, no framing. */
export const pagePolicy = (host: string | undefined): string => {
  const sockets = host === undefined || host === "" ? "" : ` ws://${host} wss://${host}`
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    `connect-src 'self'${sockets}`,
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'"
  ].join("; ")
}

const page = (name: string, headers: Readonly<Record<string, string>>, camera: boolean) =>
  Effect.map(
    load(name),
    (body): Reply => ({
      status: 200,
      body,
      contentType: types.html,
      headers: {
        "content-security-policy": pagePolicy(headers.host),
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "permissions-policy": camera ? "camera=(self), microphone=(self)" : "camera=(), microphone=()"
      }
    })
  )

export const pageRoutes = [
  route({
    method: "get",
    path: "/",
    operationId: "consolePage",
    summary: "The recruiter console (HTML)",
    tags: ["pages"],
    access: "public",
    responses: { 200: { description: "The console page", contentType: "text/html" } },
    handle: ({ headers }) => page("console.html", headers, false)
  }),
  route({
    method: "get",
    path: "/join/:id",
    operationId: "candidatePage",
    summary: "The candidate page of an interview (HTML); the join token is in the URL fragment",
    tags: ["pages"],
    access: "public",
    responses: { 200: { description: "The candidate page", contentType: "text/html" } },
    handle: ({ headers }) => page("candidate.html", headers, true)
  }),
  route({
    method: "get",
    path: "/assets/:name",
    operationId: "pageAsset",
    summary: "A script, stylesheet or icon of the pages",
    tags: ["pages"],
    access: "public",
    responses: { 200: { description: "The file", contentType: "text/javascript" } },
    handle: ({ params }) => {
      const name = params.name!
      const match = assetName.exec(name)
      if (match === null) return Effect.fail(ApiError.notFound("asset"))
      return Effect.map(
        load(name),
        (body): Reply => ({
          status: 200,
          body,
          contentType: types[match[1]!]!,
          headers: { "cache-control": "no-cache" }
        })
      )
    }
  })
]
