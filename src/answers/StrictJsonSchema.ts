/**
 * JSON Schema for OpenAI structured outputs (`response_format: json_schema`,
 * `strict: true`), generated from an Effect Schema so that the schema the model
 * is held to and the decoder its reply goes through cannot drift apart.
 *
 * Strict mode accepts a subset of JSON Schema: the root is an object, every
 * object lists all its properties as required and forbids others, and only
 * some keywords are honoured. The generated document is reduced to that subset;
 * a schema that cannot be expressed (an optional key) is a programming error
 * and throws.
 */
import { Schema } from "effect"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
type JsonObject = { readonly [key: string]: Json }

/** Keywords strict mode understands; everything else (minLength, uniqueItems, …) is dropped. */
const allowedKeywords = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "anyOf",
  "$ref",
  "$defs",
  "title",
  "description",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems"
])

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const strictify = (node: Json, path: string): Json => {
  if (Array.isArray(node)) return node.map((item, i) => strictify(item, `${path}/${i}`))
  if (!isObject(node)) return node
  const out: Record<string, Json> = {}
  for (const [key, value] of Object.entries(node)) {
    if (!allowedKeywords.has(key)) continue
    if (key === "properties" || key === "$defs") {
      const children: Record<string, Json> = {}
      for (const [name, child] of Object.entries(isObject(value) ? value : {})) {
        children[name] = strictify(child, `${path}/${key}/${name}`)
      }
      out[key] = children
    } else if (key === "enum" || key === "const" || key === "required") {
      out[key] = value
    } else {
      out[key] = strictify(value, `${path}/${key}`)
    }
  }
  if (isObject(out.properties)) {
    const names = Object.keys(out.properties)
    const required = new Set(Array.isArray(out.required) ? (out.required as ReadonlyArray<string>) : [])
    const optional = names.filter((n) => !required.has(n))
    if (optional.length > 0) {
      throw new Error(`strict JSON schema cannot express optional keys at ${path || "/"}: ${optional.join(", ")}`)
    }
    out.required = names
    out.additionalProperties = false
  } else if (out.type === "object") {
    throw new Error(`strict JSON schema needs declared properties for the object at ${path || "/"}`)
  }
  return out
}

/** Strict-mode JSON Schema of `schema`'s encoded (JSON) form. */
export const toStrictJsonSchema = (schema: Schema.Top): { readonly [key: string]: unknown } => {
  const document = Schema.toJsonSchemaDocument(schema, { onExcessProperty: "error" })
  const root = strictify(document.schema as Json, "")
  if (!isObject(root) || root.type !== "object") throw new Error("strict JSON schema needs an object at the root")
  const definitions = Object.entries(document.definitions as JsonObject)
  if (definitions.length === 0) return root
  return {
    ...root,
    $defs: Object.fromEntries(definitions.map(([name, def]) => [name, strictify(def, `/$defs/${name}`)]))
  }
}
