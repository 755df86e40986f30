/**
 * The reproducible `models` build: converts the TFJS graph models shipped in @vladmandic/human to
 * ONNX, checking every input against models/manifest.json and every output after writing it.
 * A model is rewritten only when its file is missing, differs from the manifest, or `force` is set.
 */
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import { promises as fs } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { findPackageDir } from "../Files.ts"
import { convert } from "./converter/Convert.ts"
import { InvalidModel, type UnsupportedOp } from "./converter/ConverterError.ts"
import { IR_VERSION, OPSET, type ValueInfo } from "./converter/OnnxModel.ts"
import { type ModelName, RECIPES, type Recipe } from "./converter/Recipes.ts"
import { ModelJson, parseTfjsGraph, weightPaths } from "./converter/TfjsGraph.ts"
import {
  ChecksumMismatch,
  formatManifest,
  type Manifest,
  type ManifestInvalid,
  type ModelEntry,
  ModelFileError,
  readManifest,
  type TensorInfo,
  writeAtomic
} from "./ModelManifest.ts"

/** Bumped whenever a converter change alters the bytes it writes. */
export const CONVERTER_VERSION = "candor-tfjs-onnx 3"
const SOURCE_PACKAGE = "@vladmandic/human"
const SOURCE_LICENCE = "MIT (package); model licences per model"

const here = path.dirname(fileURLToPath(import.meta.url))
/** `<repo>/models`. */
export const DEFAULT_MODELS_DIR = path.resolve(here, "../../models")

export interface BuildProgress {
  readonly model: string
  readonly step: string
  readonly done: number
  readonly total: number
}

export interface BuildOptions {
  /** Where the .onnx files go; default `<repo>/models`. */
  readonly outDir?: string
  /** Default `<repo>/models/manifest.json`, also when `outDir` is elsewhere: every build checks the committed hashes. */
  readonly manifestPath?: string
  /** Rebuild even when the existing file already matches the manifest. */
  readonly force?: boolean
  /** Re-record input and output hashes instead of failing on a mismatch (after an intended upgrade). */
  readonly record?: boolean
  readonly models?: ReadonlyArray<ModelName>
  /** The source package directory; default: resolved from node_modules. */
  readonly sourceDir?: string
  readonly onProgress?: (event: BuildProgress) => void
}

export interface BuiltModel {
  readonly model: ModelName
  readonly file: string
  readonly sha256: string
  readonly bytes: number
  readonly status: "built" | "up-to-date"
  readonly ms: number
}

export interface BuildResult {
  readonly outDir: string
  readonly manifestPath: string
  readonly manifestWritten: boolean
  readonly models: ReadonlyArray<BuiltModel>
}

export type BuildError = UnsupportedOp | InvalidModel | ChecksumMismatch | ManifestInvalid | ModelFileError

const asInvalidModel = (cause: unknown): InvalidModel =>
  cause instanceof InvalidModel ? cause : new InvalidModel({ reason: String(cause) })

const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex")

const readFile = (file: string) =>
  Effect.tryPromise({
    try: () => fs.readFile(file),
    catch: (cause) => new ModelFileError({ file, reason: `cannot read: ${String(cause)}` })
  })

/** Finds the source package by walking up from this module, as Node's resolver would. */
export const findSourceDir = (): string | undefined => findPackageDir(SOURCE_PACKAGE, here)

const STEPS = ["hash inputs", "convert", "write", "verify output"] as const

interface Source {
  readonly dir: string
  readonly version: string
}

interface Outcome {
  readonly built: BuiltModel
  readonly entry: ModelEntry
}

const buildOne = (
  recipe: Recipe,
  source: Source,
  outDir: string,
  recorded: ModelEntry | undefined,
  options: BuildOptions
): Effect.Effect<Outcome, BuildError> =>
  Effect.gen(function* () {
    const started = performance.now()
    const progress = (step: number) =>
      options.onProgress?.({ model: recipe.model, step: STEPS[step]!, done: step + 1, total: STEPS.length })
    const record = options.record === true
    const jsonName = `models/${recipe.model}.json`
    const jsonBytes = yield* readFile(path.join(source.dir, jsonName))
    const json = yield* Effect.try({
      try: () => Schema.decodeUnknownSync(ModelJson)(JSON.parse(jsonBytes.toString("utf8"))),
      catch: (cause) =>
        new ModelFileError({ file: path.join(source.dir, jsonName), reason: `not a TFJS model.json: ${String(cause)}` })
    })
    const inputs: Record<string, string> = { [jsonName]: sha256(jsonBytes) }
    const shards: Array<Uint8Array> = []
    for (const shard of weightPaths(json)) {
      const name = `models/${shard}`
      const bytes = yield* readFile(path.join(source.dir, name))
      inputs[name] = sha256(bytes)
      shards.push(bytes)
    }
    for (const [name, actual] of Object.entries(inputs)) {
      const expected = recorded?.inputs[name]
      if (expected !== undefined && expected !== actual && !record) {
        return yield* new ChecksumMismatch({
          file: path.join(source.dir, name),
          expected,
          actual,
          hint: `reinstall ${SOURCE_PACKAGE}@${source.version}, or rebuild with --record after an intended upgrade`
        })
      }
    }
    progress(0)

    const file = path.join(outDir, recipe.file)
    const existing = yield* Effect.promise(() => fs.readFile(file).catch(() => undefined))
    const inputsMatch = recorded !== undefined && Object.entries(inputs).every(([k, v]) => recorded.inputs[k] === v)
    if (existing !== undefined && inputsMatch && !options.force && !record && sha256(existing) === recorded.sha256) {
      for (let step = 1; step < STEPS.length; step++) progress(step)
      return {
        entry: recorded,
        built: {
          model: recipe.model,
          file,
          sha256: recorded.sha256,
          bytes: existing.length,
          status: "up-to-date",
          ms: performance.now() - started
        }
      }
    }

    const graph = yield* Effect.try({ try: () => parseTfjsGraph(json, Buffer.concat(shards)), catch: asInvalidModel })
    const outputs = yield* Effect.try({ try: () => recipe.outputs(graph), catch: asInvalidModel })
    const converted = yield* convert(graph, {
      graphName: recipe.model,
      inputName: "input",
      dynamicBatch: recipe.dynamicBatch,
      outputs,
      producerVersion: CONVERTER_VERSION,
      docString: `${recipe.model}: converted from ${SOURCE_PACKAGE}@${source.version} ${jsonName}`,
      metadata: [
        ["source", `${SOURCE_PACKAGE}@${source.version}/${jsonName}`],
        ["licence", recipe.licence],
        ["origin", recipe.origin]
      ]
    })
    progress(1)
    const bytes = converted.bytes
    const digest = sha256(bytes)
    if (recorded !== undefined && !record && recorded.sha256 !== digest) {
      return yield* new ChecksumMismatch({
        file,
        expected: recorded.sha256,
        actual: digest,
        hint: "the converter's output changed; if intended, rebuild with --record and commit the manifest"
      })
    }
    yield* writeAtomic(file, bytes)
    progress(2)
    const written = yield* readFile(file)
    if (sha256(written) !== digest) {
      return yield* new ChecksumMismatch({
        file,
        expected: digest,
        actual: sha256(written),
        hint: "the file changed while it was written"
      })
    }
    progress(3)
    const info = (v: ValueInfo): TensorInfo => ({ name: v.name, shape: v.shape })
    const entry: ModelEntry = {
      file: recipe.file,
      licence: recipe.licence,
      origin: recipe.origin,
      optional: recipe.optional,
      inputs,
      sha256: digest,
      bytes: bytes.length,
      irVersion: IR_VERSION,
      opset: OPSET,
      input: info(converted.inputs[0]!),
      outputs: converted.outputs.map(info)
    }
    return {
      entry,
      built: {
        model: recipe.model,
        file,
        sha256: digest,
        bytes: bytes.length,
        status: "built",
        ms: performance.now() - started
      }
    }
  })

/** Builds (or verifies) the models; see `BuildOptions`. */
export const build = (options: BuildOptions = {}): Effect.Effect<BuildResult, BuildError> =>
  Effect.gen(function* () {
    const outDir = path.resolve(options.outDir ?? DEFAULT_MODELS_DIR)
    const manifestPath = path.resolve(options.manifestPath ?? path.join(DEFAULT_MODELS_DIR, "manifest.json"))
    const sourceDir = options.sourceDir ?? findSourceDir()
    if (sourceDir === undefined) {
      return yield* new ModelFileError({ file: SOURCE_PACKAGE, reason: "package not installed; run npm ci" })
    }
    const pkg = yield* readFile(path.join(sourceDir, "package.json"))
    const version = String((JSON.parse(pkg.toString("utf8")) as { version?: unknown }).version)
    const manifest = yield* readManifest(manifestPath)
    const record = options.record === true
    if (manifest !== undefined && manifest.source.version !== version && !record) {
      return yield* new ChecksumMismatch({
        file: path.join(sourceDir, "package.json"),
        expected: `version ${manifest.source.version}`,
        actual: `version ${version}`,
        hint: `install ${SOURCE_PACKAGE}@${manifest.source.version}, or rebuild with --record after an intended upgrade`
      })
    }
    const wanted = RECIPES.filter((r) => options.models === undefined || options.models.includes(r.model))
    const outcomes: Array<Outcome> = []
    for (const recipe of wanted) {
      outcomes.push(
        yield* buildOne(recipe, { dir: sourceDir, version }, outDir, manifest?.models[recipe.model], options)
      )
    }
    const models: Record<string, ModelEntry> = { ...manifest?.models }
    for (const o of outcomes) models[o.built.model] = o.entry
    const next: Manifest = {
      source: { package: SOURCE_PACKAGE, version, licence: SOURCE_LICENCE },
      converter: CONVERTER_VERSION,
      models
    }
    const order = RECIPES.map((r) => r.model)
    const text = formatManifest(next, order)
    const current = yield* Effect.promise(() => fs.readFile(manifestPath, "utf8").catch(() => undefined))
    const changed = current !== text
    if (changed) yield* writeAtomic(manifestPath, text)
    return { outDir, manifestPath, manifestWritten: changed, models: outcomes.map((o) => o.built) }
  })

/** Promise form of `build`; rejects with the typed error. */
export const buildModels = (options: BuildOptions = {}): Promise<BuildResult> => Effect.runPromise(build(options))

/** Builds only what is missing or differs from the manifest (used at start-up). */
export const ensureModels = (dir: string = DEFAULT_MODELS_DIR): Promise<BuildResult> => buildModels({ outDir: dir })

/** What `candor models` was asked for (parsed and checked by the command line). */
export interface ModelsArgs {
  readonly force: boolean
  readonly record: boolean
  readonly outDir: string | undefined
  /** Only these models; all when unset. */
  readonly only: ReadonlyArray<ModelName> | undefined
}

/** `candor models`: prints one line per step; exit code 0, or 1 when a build or a check failed. */
export const modelsCommand = async ({ force, record, outDir, only }: ModelsArgs): Promise<number> => {
  const started = performance.now()
  const print = (e: BuildProgress) => {
    const pct = `${Math.round((100 * e.done) / e.total)}%`.padStart(4)
    const ms = `${Math.round(performance.now() - started)} ms`.padStart(8)
    process.stdout.write(`${e.model.padEnd(10)} ${e.step.padEnd(14)} ${pct} ${ms}\n`)
  }
  try {
    const result = await buildModels({
      force,
      record,
      onProgress: print,
      ...(outDir === undefined ? {} : { outDir }),
      ...(only === undefined ? {} : { models: only })
    })
    for (const m of result.models) {
      process.stdout.write(`${m.model.padEnd(10)} ${m.status.padEnd(10)} ${m.bytes} bytes sha256 ${m.sha256}\n`)
    }
    if (result.manifestWritten) process.stdout.write(`wrote ${result.manifestPath}\n`)
    return 0
  } catch (error) {
    process.stderr.write(`models: ${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }
}
