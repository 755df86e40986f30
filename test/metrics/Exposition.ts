/**
 * A strict reader of the Prometheus text format (0.0.4) for tests: lists what a scraper or a dashboard would trip
 * on. Every family has one HELP and one TYPE before its samples, and its samples are together; sample lines are
 * well formed and unique; a histogram has, per label set, cumulative `_bucket`s ending in `le="+Inf"` equal to its
 * `_count`, and a `_sum`.
 */

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*"
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`)
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly type: string
  readonly help: string
  readonly samples: ReadonlyArray<Sample>
}

const parseValue = (raw: string): number | undefined => {
  if (raw === "+Inf") return Number.POSITIVE_INFINITY
  if (raw === "-Inf") return Number.NEGATIVE_INFINITY
  if (raw === "NaN") return Number.NaN
  return /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : undefined
}

const parseLabels = (text: string): Record<string, string> | undefined => {
  const labels: Record<string, string> = {}
  let rest = text
  while (rest.length > 0) {
    const m = LABEL.exec(rest)
    if (m === null || m[1]! in labels) return undefined
    labels[m[1]!] = m[2]!
    rest = rest.slice(m[0].length)
  }
  return labels
}

/** The family a sample name belongs to, given the families declared so far. */
const familyOf = (name: string, types: ReadonlyMap<string, string>): string => {
  if (types.has(name)) return name
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length)
    if (name.endsWith(suffix) && (types.get(base) === "histogram" || types.get(base) === "summary")) return base
  }
  return name
}

/** The families of `text`, and every way it breaks the format. */
export const readExposition = (text: string): { families: Array<Family>; problems: Array<string> } => {
  const problems: Array<string> = []
  const types = new Map<string, string>()
  const helps = new Map<string, string>()
  const samples = new Map<string, Array<Sample>>()
  const closed = new Set<string>()
  const seen = new Set<string>()
  let current: string | undefined
  const enter = (family: string) => {
    if (current === family) return
    if (current !== undefined) closed.add(current)
    if (closed.has(family)) problems.push(`${family}: lines of the family are not together`)
    current = family
  }
  if (text.length > 0 && !text.endsWith("\n")) problems.push("the text does not end with a newline")
  for (const line of text.split("\n").slice(0, text.endsWith("\n") ? -1 : undefined)) {
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, "HELP" | "TYPE", string, string]
      if (!new RegExp(`^${NAME}$`).test(name)) problems.push(`${line}: invalid metric name`)
      enter(name)
      const map = kind === "HELP" ? helps : types
      if (map.has(name)) problems.push(`${name}: more than one ${kind}`)
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) problems.push(`${name}: unknown type ${rest}`)
        if (samples.has(name)) problems.push(`${name}: TYPE after its samples`)
      }
      map.set(name, rest)
      continue
    }
    if (line.startsWith("#")) continue
    const m = SAMPLE.exec(line)
    const labels = m === null ? undefined : parseLabels(m[2] ?? "")
    const value = m === null ? undefined : parseValue(m[3]!)
    if (m === null || labels === undefined || value === undefined) {
      problems.push(`${JSON.stringify(line)}: not a sample line`)
      continue
    }
    const family = familyOf(m[1]!, types)
    enter(family)
    const key = `${m[1]}{${Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(",")}}`
    if (seen.has(key)) problems.push(`${key}: duplicate series`)
    seen.add(key)
    const list = samples.get(family) ?? []
    list.push({ name: m[1]!, labels, value })
    samples.set(family, list)
  }
  const names = new Set([...types.keys(), ...helps.keys(), ...samples.keys()])
  const families: Array<Family> = []
  for (const name of names) {
    const type = types.get(name)
    const help = helps.get(name)
    if (type === undefined) problems.push(`${name}: no TYPE`)
    if (help === undefined) problems.push(`${name}: no HELP`)
    const list = samples.get(name) ?? []
    if (type === "counter" && list.some((s) => !(s.value >= 0))) problems.push(`${name}: a counter below zero`)
    if (type === "histogram") problems.push(...histogramProblems(name, list))
    families.push({ name, type: type ?? "untyped", help: help ?? "", samples: list })
  }
  return { families, problems }
}

const histogramProblems = (name: string, samples: ReadonlyArray<Sample>): Array<string> => {
  const problems: Array<string> = []
  const series = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>()
  for (const s of samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)))
    const entry = series.get(key) ?? { buckets: [] }
    series.set(key, entry)
    if (s.name === `${name}_bucket`) {
      const bound = le === undefined ? undefined : le === "+Inf" ? Number.POSITIVE_INFINITY : parseValue(le)
      if (bound === undefined) problems.push(`${name}${key}: a bucket without a valid le`)
      else entry.buckets.push([bound, s.value])
    } else if (s.name === `${name}_sum`) entry.sum = s.value
    else if (s.name === `${name}_count`) entry.count = s.value
    else problems.push(`${s.name}: not a histogram sample of ${name}`)
  }
  if (series.size === 0) problems.push(`${name}: a histogram without samples`)
  for (const [key, { buckets, sum, count }] of series) {
    const at = `${name}${key === "[]" ? "" : key}`
    if (sum === undefined) problems.push(`${at}: no _sum`)
    if (count === undefined) problems.push(`${at}: no _count`)
    if (buckets.length === 0 || buckets.at(-1)![0] !== Number.POSITIVE_INFINITY) problems.push(`${at}: no +Inf bucket`)
    else if (buckets.at(-1)![1] !== count) problems.push(`${at}: +Inf bucket differs from _count`)
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]![0] > buckets[i - 1]![0])) problems.push(`${at}: buckets out of order`)
      if (buckets[i]![1] < buckets[i - 1]![1]) problems.push(`${at}: buckets not cumulative`)
    }
  }
  return problems
}
