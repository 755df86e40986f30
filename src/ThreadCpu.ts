/**
 * CPU time of the calling thread, where the platform tells it (Linux: `/proc/thread-self/stat`). The process's
 * total hides which thread spends it; the engine splits it into its main thread, its inference workers, its embedded
 * database's thread (PGlite) and the native threads behind them (JPEG decoding, garbage collection), so an operator
 * sees where a frame's cost goes.
 */
import { readFileSync } from "node:fs"

/** Linux reports times in clock ticks; USER_HZ is 100 on every mainstream architecture. */
const TICKS_PER_SECOND = 100

let available = process.platform === "linux"

/** Seconds of CPU (user + system) this thread has used, or undefined where the platform does not say. */
export const threadCpuSeconds = (): number | undefined => {
  if (!available) return undefined
  try {
    const stat = readFileSync("/proc/thread-self/stat", "latin1")
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    available = false
    return undefined
  }
}
