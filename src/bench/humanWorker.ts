/**
 * Worker of PeerRunner: one @vladmandic/human instance on tfjs-wasm (single-threaded, one worker per core) doing
 * what our engine does per frame — decode the JPEG (with the same decoder), detect the face, fit the mesh,
 * classify the emotion — over one clip played as video. Human is used as its documentation shows; only the
 * models it would run beyond ours are switched off, and its caching is either off or at its defaults.
 */
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import { parentPort, workerData } from "node:worker_threads"
import type { Config, Human as HumanInstance } from "@vladmandic/human"
import sharp from "sharp"
import type { PeerCommand, PeerReport, PeerSettings } from "./PeerProtocol.ts"

const settings = workerData as PeerSettings
const port = parentPort!
sharp.concurrency(1)
sharp.cache(false)

const require = createRequire(import.meta.url)
// The package's `exports` keys lack "./", so Node cannot resolve its subpaths; the wasm build sits beside the
// entry point that does resolve.
const humanDir = path.dirname(require.resolve("@vladmandic/human"))
const modelsDir = path.resolve(humanDir, "../models")
const wasmDir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))

// Node 20's fetch has no file: scheme; Human loads its models through fetch.
const platformFetch = globalThis.fetch
globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url
  if (!url.startsWith("file:")) return platformFetch(input, init)
  const body = await readFile(new URL(url))
  return new Response(body, {
    status: 200,
    headers: { "content-type": url.endsWith(".json") ? "application/json" : "application/octet-stream" }
  })
}) as typeof fetch

/**
 * Every caching option is passed explicitly, both ways: `detect()` keeps settings it is given, and Human's
 * defaults are what "with caching" means (0.7 input sensitivity, detector reused for 99 frames / 2.5 s, emotion
 * for 99 frames / 1.5 s).
 */
const caching = (on: boolean): Partial<Config> => ({
  cacheSensitivity: on ? 0.7 : 0,
  face: {
    detector: { skipFrames: on ? 99 : 0, skipTime: on ? 2500 : 0 },
    emotion: { enabled: true, skipFrames: on ? 99 : 0, skipTime: on ? 1500 : 0 }
  }
})

const config: Partial<Config> = {
  backend: "wasm",
  wasmPath: `${wasmDir}${path.sep}`,
  wasmPlatformFetch: false,
  modelBasePath: `file://${modelsDir}/`,
  cacheModels: false,
  debug: false,
  warmup: "none",
  cacheSensitivity: settings.caching ? 0.7 : 0,
  filter: { enabled: false },
  gesture: { enabled: false },
  body: { enabled: false },
  hand: { enabled: false },
  object: { enabled: false },
  segmentation: { enabled: false },
  face: {
    enabled: true,
    detector: { enabled: true, skipFrames: settings.caching ? 99 : 0, skipTime: settings.caching ? 2500 : 0 },
    mesh: { enabled: true },
    attention: { enabled: false },
    iris: { enabled: false },
    emotion: { enabled: true, skipFrames: settings.caching ? 99 : 0, skipTime: settings.caching ? 1500 : 0 },
    description: { enabled: false },
    antispoof: { enabled: false },
    liveness: { enabled: false }
  } as Config["face"]
}

const { Human } = require(path.join(humanDir, "human.node-wasm.js")) as {
  Human: new (config: Partial<Config>) => HumanInstance
}
const human = new Human(config)
await human.load()
const frames = settings.frames

interface Tally {
  frames: number
  faces: number
  emotions: number
  busyMs: number
  perFrameMs: Array<number>
}

let next = 0
const once = async (tally: Tally) => {
  const jpeg = frames[next++ % frames.length]!
  const t = performance.now()
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const tensor = human.tf.tensor3d(data, [info.height, info.width, 3], "int32")
  const result = await human.detect(tensor, caching(settings.caching))
  human.tf.dispose(tensor)
  const ms = performance.now() - t
  tally.frames++
  tally.busyMs += ms
  tally.perFrameMs.push(ms)
  tally.faces += result.face.length
  if (result.face[0]?.emotion !== undefined && result.face[0].emotion.length > 0) tally.emotions++
}

const run = async (warmupMs: number, durationMs: number): Promise<PeerReport> => {
  const scratch: Tally = { frames: 0, faces: 0, emotions: 0, busyMs: 0, perFrameMs: [] }
  const warmEnd = performance.now() + warmupMs
  while (performance.now() < warmEnd || scratch.frames < 2) await once(scratch)
  const tally: Tally = { frames: 0, faces: 0, emotions: 0, busyMs: 0, perFrameMs: [] }
  const start = performance.now()
  while (performance.now() - start < durationMs) await once(tally)
  return {
    _tag: "Done",
    frames: tally.frames,
    seconds: (performance.now() - start) / 1000,
    faces: tally.faces,
    emotions: tally.emotions,
    perFrameMs: tally.perFrameMs,
    backend: human.tf.getBackend(),
    tensors: human.tf.memory().numTensors
  }
}

port.on("message", (command: PeerCommand) => {
  if (command._tag === "Go") {
    run(command.warmupMs, command.durationMs).then(
      (report) => port.postMessage(report),
      (error) => port.postMessage({ _tag: "Failed", message: String(error?.stack ?? error) } satisfies PeerReport)
    )
  }
})
port.postMessage({ _tag: "Ready", version: human.version } satisfies PeerReport)
