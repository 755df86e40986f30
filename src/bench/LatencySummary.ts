/** Percentiles of a sample, the way load testers report them (nearest rank, so every value was observed). */

export interface LatencySummary {
  readonly count: number
  readonly mean: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

export const emptySummary: LatencySummary = { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 }

/** Nearest-rank percentile of an ascending array; `q` in [0, 1]. */
export const percentile = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) return 0
  const rank = Math.ceil(q * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export const summarize = (values: ArrayLike<number>): LatencySummary => {
  if (values.length === 0) return emptySummary
  const sorted = Float64Array.from(values).sort()
  let sum = 0
  for (const v of sorted) sum += v
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1]!
  }
}

/** A growable sample of numbers without boxing (latencies of a whole run can reach millions). */
export class Sample {
  private data = new Float64Array(1024)
  length = 0
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2)
      grown.set(this.data)
      this.data = grown
    }
    this.data[this.length++] = value
  }
  pushAll(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.push(values[i]!)
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length)
  }
  clear(): void {
    this.length = 0
  }
}
