/**
 * CPU time of the calling thread, where the platform tells it. The process's total hides which thread spends it; the
 * engine splits it into its main thread, its inference workers, its embedded database's thread (PGlite) and the
 * native threads behind them (JPEG decoding, garbage collection), so an operator sees where a frame's cost goes.
 *
 * It is read after every inference task and every embedded-database statement, so it must be cheap: libc's
 * `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` through koffi (about 1 µs, nanosecond resolution) where libc can be
 * loaded, else Linux's `/proc/thread-self/stat` (about 26 µs: a file opened, read and closed; 10 ms ticks).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

/** Linux reports times in clock ticks; USER_HZ is 100 on every mainstream architecture. */
const TICKS_PER_SECOND = 100

const fromProc = (): number => {
  const stat = readFileSync("/proc/thread-self/stat", "latin1")
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

/** `CLOCK_THREAD_CPUTIME_ID` in each platform's headers. */
const THREAD_CLOCK: Partial<Record<NodeJS.Platform, { readonly lib: string; readonly id: number }>> = {
  linux: { lib: "libc.so.6", id: 3 },
  darwin: { lib: "libSystem.B.dylib", id: 16 }
}

/** libc's thread clock, or undefined where it cannot be called (no koffi, another libc such as musl's). */
const clockReader = (): (() => number) | undefined => {
  const clock = THREAD_CLOCK[process.platform]
  if (clock === undefined) return undefined
  try {
    const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi")
    const gettime = koffi.load(clock.lib).func("int clock_gettime(int clockid, _Out_ int64_t *tp)")
    const out = new BigInt64Array(2)
    const read = () => {
      if (gettime(clock.id, out) !== 0) throw new Error("clock_gettime failed")
      return Number(out[0]) + Number(out[1]) / 1e9
    }
    read()
    return read
  } catch {
    return undefined
  }
}

let reader: (() => number) | null | undefined

const pick = (): (() => number) | null => {
  const clock = clockReader()
  if (clock !== undefined) return clock
  if (process.platform !== "linux") return null
  try {
    fromProc()
    return fromProc
  } catch {
    return null
  }
}

/** Seconds of CPU (user + system) this thread has used, or undefined where the platform does not say. */
export const threadCpuSeconds = (): number | undefined => {
  if (reader === undefined) reader = pick()
  if (reader === null) return undefined
  try {
    return reader()
  } catch {
    reader = null
    return undefined
  }
}
