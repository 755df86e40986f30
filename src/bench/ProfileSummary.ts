/**
 * `--profile DIR`: the engine runs under `node --cpu-prof` (every thread writes a .cpuprofile into DIR when it
 * exits) and the bench lists where each busy thread spent its time, by function self time. Native work that
 * runs off the JavaScript thread (libvips decoding in libuv's pool) does not appear; onnxruntime-node's
 * synchronous `run` does.
 */
import { readdir, readFile } from "node:fs/promises"
import * as path from "node:path"

export interface ThreadProfile {
  readonly file: string
  readonly sampledSeconds: number
  readonly busySeconds: number
  /** Function (file:line) → self seconds, largest first. */
  readonly top: ReadonlyArray<{ readonly name: string; readonly seconds: number; readonly share: number }>
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  }>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const IDLE = new Set(["(idle)", "atomicsWaitLoop"])

export const summarizeProfile = (file: string, profile: CpuProfile, topN = 12): ThreadProfile => {
  const names = new Map<number, string>()
  for (const n of profile.nodes) {
    const where =
      n.callFrame.url === "" ? "" : ` ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber + 1}`
    names.set(n.id, `${n.callFrame.functionName || "(anonymous)"}${where}`)
  }
  const self = new Map<string, number>()
  let total = 0
  let idle = 0
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0
    const name = names.get(id) ?? "?"
    total += us
    if (IDLE.has(name.split(" ")[0]!)) idle += us
    else self.set(name, (self.get(name) ?? 0) + us)
  })
  const busy = total - idle
  return {
    file,
    sampledSeconds: total / 1e6,
    busySeconds: busy / 1e6,
    top: [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([name, us]) => ({ name, seconds: us / 1e6, share: busy > 0 ? us / busy : 0 }))
  }
}

/** Every profile in `dir`, busiest thread first; threads busy under `minBusySeconds` are left out. */
export const summarizeProfiles = async (dir: string, minBusySeconds = 0.5): Promise<Array<ThreadProfile>> => {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile"))
  const out: Array<ThreadProfile> = []
  for (const f of files) {
    const profile = JSON.parse(await readFile(path.join(dir, f), "utf8")) as CpuProfile
    const s = summarizeProfile(f, profile)
    if (s.busySeconds >= minBusySeconds) out.push(s)
  }
  return out.sort((a, b) => b.busySeconds - a.busySeconds)
}
