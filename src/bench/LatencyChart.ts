/**
 * Frame→analysis latency against load as a self-contained SVG (no chart library): p50, p90 and p99 per load
 * step on a logarithmic latency axis, the latency budget as a dashed line, and the shed share per step.
 */

export interface ChartPoint {
  /** Load: simulated candidates. */
  readonly sessions: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  /** Share of offered frames not analysed, 0…1. */
  readonly shed: number
}

export interface ChartOptions {
  readonly title: string
  readonly budgetMs: number
  readonly subtitle?: string
}

const W = 720
const H = 400
const M = { left: 64, right: 150, top: 56, bottom: 52 }
const PW = W - M.left - M.right
const PH = H - M.top - M.bottom

const SERIES = [
  { key: "p50", color: "#2b8a3e", label: "p50" },
  { key: "p90", color: "#e67700", label: "p90" },
  { key: "p99", color: "#c92a2a", label: "p99" }
] as const

const xmlText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
const num = (v: number) => (Math.round(v * 10) / 10).toString()

/** 1-2-5 ticks covering [lo, hi] on a log axis. */
const logTicks = (lo: number, hi: number): Array<number> => {
  const ticks: Array<number> = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e
      if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t)
    }
  }
  return ticks
}

const niceStep = (range: number, target: number) => {
  const raw = range / target
  const p = 10 ** Math.floor(Math.log10(raw))
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw
}

export const renderLatencyChart = (points: ReadonlyArray<ChartPoint>, options: ChartOptions): string => {
  const sorted = [...points].sort((a, b) => a.sessions - b.sessions)
  const values = sorted.flatMap((p) => [p.p50, p.p90, p.p99]).filter((v) => v > 0)
  const yLo = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(options.budgetMs, ...values))))
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(options.budgetMs * 1.5, ...values)))
  const xMax = Math.max(1, ...sorted.map((p) => p.sessions))
  const xStep = niceStep(xMax, 8)
  const xHi = Math.ceil(xMax / xStep) * xStep
  const x = (v: number) => M.left + (v / xHi) * PW
  const y = (v: number) =>
    M.top + PH - ((Math.log10(Math.max(v, yLo)) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * PH
  const out: Array<string> = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="600">${xmlText(options.title)}</text>`
  )
  if (options.subtitle !== undefined) {
    out.push(`<text x="${M.left}" y="40" fill="#555">${xmlText(options.subtitle)}</text>`)
  }
  for (const t of logTicks(yLo, yHi)) {
    out.push(
      `<line x1="${M.left}" x2="${M.left + PW}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#e9ecef"/>`,
      `<text x="${M.left - 6}" y="${num(y(t) + 4)}" text-anchor="end" fill="#555">${t >= 1000 ? `${t / 1000} s` : `${t}`}</text>`
    )
  }
  for (let v = 0; v <= xHi + 1e-9; v += xStep) {
    out.push(
      `<line x1="${num(x(v))}" x2="${num(x(v))}" y1="${M.top + PH}" y2="${M.top + PH + 4}" stroke="#868e96"/>`,
      `<text x="${num(x(v))}" y="${M.top + PH + 18}" text-anchor="middle" fill="#555">${num(v)}</text>`
    )
  }
  out.push(
    `<line x1="${M.left}" x2="${M.left + PW}" y1="${M.top + PH}" y2="${M.top + PH}" stroke="#868e96"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + PH}" stroke="#868e96"/>`,
    `<text x="${M.left + PW / 2}" y="${H - 12}" text-anchor="middle">simulated candidates</text>`,
    `<text transform="translate(16 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle">frame → analysis latency (ms, log)</text>`,
    `<line x1="${M.left}" x2="${M.left + PW}" y1="${num(y(options.budgetMs))}" y2="${num(y(options.budgetMs))}" stroke="#495057" stroke-dasharray="6 4"/>`,
    `<text x="${M.left + PW - 4}" y="${num(y(options.budgetMs) - 5)}" text-anchor="end" fill="#495057">budget ${options.budgetMs} ms</text>`
  )
  for (const s of SERIES) {
    const path = sorted.map((p, i) => `${i === 0 ? "M" : "L"}${num(x(p.sessions))},${num(y(p[s.key]))}`).join(" ")
    if (sorted.length > 1) out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`)
    for (const p of sorted) {
      out.push(
        `<circle cx="${num(x(p.sessions))}" cy="${num(y(p[s.key]))}" r="3" fill="${s.color}"><title>${p.sessions} candidates: ${s.label} ${num(p[s.key])} ms</title></circle>`
      )
    }
  }
  for (const p of sorted) {
    if (p.shed >= 0.001) {
      out.push(
        `<text x="${num(x(p.sessions))}" y="${num(y(p.p99) - 8)}" text-anchor="middle" fill="#c92a2a" font-size="10">${num(p.shed * 100)}% shed</text>`
      )
    }
  }
  const lx = M.left + PW + 16
  SERIES.forEach((s, i) => {
    const ly = M.top + 10 + i * 20
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${lx + 28}" y="${ly + 4}">${s.label}</text>`
    )
  })
  out.push(
    `<line x1="${lx}" x2="${lx + 22}" y1="${M.top + 70}" y2="${M.top + 70}" stroke="#495057" stroke-dasharray="6 4"/>`,
    `<text x="${lx + 28}" y="${M.top + 74}">budget</text>`,
    "</svg>"
  )
  return `${out.join("\n")}\n`
}
