/**
 * `models/manifest.json`: what the converted models were made from (package, version, sha256 of every
 * input file) and what they must be (sha256, input and output names and shapes, licence). The build
 * checks both sides against it, so a changed package or converter cannot slip through unnoticed.
 */
import { Effect, Schema } from "effect"
import { promises as fs } from "node:fs"
import { writeFileAtomic } from "../Files.ts"

const Dim = Schema.Union([Schema.Number, Schema.String])

export const TensorInfo = Schema.Struct({
  name: Schema.String,
  shape: Schema.Array(Dim)
})
export type TensorInfo = typeof TensorInfo.Type

export const ModelEntry = Schema.Struct({
  file: Schema.String,
  licence: Schema.String,
  origin: Schema.String,
  optional: Schema.Boolean,
  /** sha256 of each source file, keyed by its path inside the source package. */
  inputs: Schema.Record(Schema.String, Schema.String),
  sha256: Schema.String,
  bytes: Schema.Number,
  irVersion: Schema.Number,
  opset: Schema.Number,
  input: TensorInfo,
  outputs: Schema.Array(TensorInfo)
})
export type ModelEntry = typeof ModelEntry.Type

export const Manifest = Schema.Struct({
  source: Schema.Struct({ package: Schema.String, version: Schema.String, licence: Schema.String }),
  converter: Schema.String,
  models: Schema.Record(Schema.String, ModelEntry)
})
export type Manifest = typeof Manifest.Type

/** A file's sha256 differs from the one recorded in the manifest. */
export class ChecksumMismatch extends Schema.TaggedError<ChecksumMismatch>()("ChecksumMismatch", {
  file: Schema.String,
  expected: Schema.String,
  actual: Schema.String,
  hint: Schema.String
}) {
  override get message(): string {
    return `${this.file}: sha256 ${this.actual} does not match the manifest (${this.expected}); ${this.hint}`
  }
}

/** The manifest exists but cannot be read or does not match its schema. */
export class ManifestInvalid extends Schema.TaggedError<ManifestInvalid>()("ManifestInvalid", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/** A file the build needs could not be read or written. */
export class ModelFileError extends Schema.TaggedError<ModelFileError>()("ModelFileError", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

const decode = Schema.decodeUnknownEffect(Manifest)

/** Reads the manifest; a missing file is `undefined` (first build). */
export const readManifest = (file: string): Effect.Effect<Manifest | undefined, ManifestInvalid> =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => fs.readFile(file, "utf8"),
      catch: (cause) => cause as NodeJS.ErrnoException
    }).pipe(
      Effect.catch((cause) =>
        cause.code === "ENOENT"
          ? Effect.succeed(undefined)
          : Effect.fail(new ManifestInvalid({ file, reason: String(cause.message) }))
      )
    )
    if (text === undefined) return undefined
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) => new ManifestInvalid({ file, reason: `not JSON: ${String(cause)}` })
    })
    return yield* decode(json).pipe(Effect.mapError((cause) => new ManifestInvalid({ file, reason: cause.message })))
  })

/** Writes `bytes` to `file` through a temporary sibling and a rename, so readers never see half a file. */
export const writeAtomic = (file: string, bytes: Uint8Array | string): Effect.Effect<void, ModelFileError> =>
  Effect.tryPromise({
    try: () => writeFileAtomic(file, bytes),
    catch: (cause) => new ModelFileError({ file, reason: `cannot write: ${String(cause)}` })
  })

/** Serialises with a fixed key order and a trailing newline, so an unchanged manifest is byte-identical. */
export const formatManifest = (manifest: Manifest, order: ReadonlyArray<string>): string => {
  const names = Object.keys(manifest.models).sort((a, b) => {
    const ia = order.indexOf(a)
    const ib = order.indexOf(b)
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || (a < b ? -1 : 1)
  })
  const models: Record<string, ModelEntry> = {}
  for (const name of names) {
    const e = manifest.models[name]!
    const inputs: Record<string, string> = {}
    for (const key of Object.keys(e.inputs).sort()) inputs[key] = e.inputs[key]!
    models[name] = {
      file: e.file,
      licence: e.licence,
      origin: e.origin,
      optional: e.optional,
      inputs,
      sha256: e.sha256,
      bytes: e.bytes,
      irVersion: e.irVersion,
      opset: e.opset,
      input: e.input,
      outputs: e.outputs
    }
  }
  const ordered = {
    source: { package: manifest.source.package, version: manifest.source.version, licence: manifest.source.licence },
    converter: manifest.converter,
    models
  }
  // Shapes read better on one line: collapse arrays that hold only scalars.
  const text = JSON.stringify(ordered, null, 2).replace(
    /\[\s*([^[\]{}]*?)\s*\]/g,
    (_, inner: string) => `[${inner.split(/,\s*/).join(", ")}]`
  )
  return `${text}\n`
}
