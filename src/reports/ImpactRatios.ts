/**
 * Impact ratios of a hiring sample by sex, race/ethnicity and their intersections, by the method of NYC Local
 * Law 144 (bias audits of automated employment decision tools). Pure: the caller brings the sample.
 *
 * - Each candidate is selected or not: on the `selection` basis their latest human decision is `advance`; on the
 *   `scoring` basis their overall score is above the median score of the whole sample (`scoringOutcomes`).
 * - Per category: candidates, selected, rate = selected / candidates, and impact ratio = rate / the highest rate
 *   among the categories of the same group (sex, race/ethnicity, intersection).
 * - A category under 2 % of the whole sample is flagged, not hidden; an impact ratio under 0.8 is flagged.
 * - Candidates who declined or did not answer are left out of a group's categories and counted as unknown.
 */
import { raceEthnicityCategories, sexCategories } from "../../schemas/CandidateData.ts"

export type ImpactBasis = "selection" | "scoring"
export type GroupName = "sex" | "race_ethnicity" | "intersection"

export interface ImpactCandidate {
  /** A category, `declined`, or null when not answered. */
  readonly sex: string | null
  readonly raceEthnicity: string | null
  readonly selected: boolean
}

export interface ImpactRow {
  readonly category: string
  readonly sex: string | null
  readonly raceEthnicity: string | null
  readonly candidates: number
  readonly selected: number
  readonly rate: number | null
  readonly impactRatio: number | null
  readonly smallCategory: boolean
  readonly belowFourFifths: boolean
}

export interface ImpactGroup {
  readonly group: GroupName
  readonly unknown: number
  readonly declined: number
  readonly rows: ReadonlyArray<ImpactRow>
}

export interface ImpactTable {
  readonly sampleSize: number
  readonly selected: number
  readonly groups: ReadonlyArray<ImpactGroup>
}

/** Share of the whole sample under which a category is flagged. */
export const smallCategoryShare = 0.02
/** Impact ratio under which a category is flagged (the four-fifths rule). */
export const fourFifths = 0.8

/** The median of `values` (mean of the two middle ones for an even count); null when empty. */
export const median = (values: ReadonlyArray<number>): number | null => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Scoring basis: selected when the score is strictly above the median of every score given. */
export const scoringOutcomes = (scores: ReadonlyArray<number>): { median: number | null; selected: Array<boolean> } => {
  const m = median(scores)
  return { median: m, selected: scores.map((s) => m !== null && s > m) }
}

const known = (value: string | null, categories: ReadonlyArray<string>): string | null =>
  value !== null && categories.includes(value) ? value : null

interface Cell {
  readonly category: string
  readonly sex: string | null
  readonly raceEthnicity: string | null
}

const groupOf = (
  group: GroupName,
  cells: ReadonlyArray<Cell>,
  sample: ReadonlyArray<ImpactCandidate>,
  keyOf: (c: ImpactCandidate) => string | null,
  declinedOf: (c: ImpactCandidate) => boolean
): ImpactGroup => {
  const counts = new Map<string, { candidates: number; selected: number }>(
    cells.map((c) => [c.category, { candidates: 0, selected: 0 }])
  )
  let unknown = 0
  let declined = 0
  for (const c of sample) {
    const key = keyOf(c)
    const cell = key === null ? undefined : counts.get(key)
    if (cell === undefined) {
      unknown++
      if (declinedOf(c)) declined++
      continue
    }
    cell.candidates++
    if (c.selected) cell.selected++
  }
  const rates = cells.map((c) => {
    const n = counts.get(c.category)!
    return n.candidates === 0 ? null : n.selected / n.candidates
  })
  const highest = Math.max(0, ...rates.filter((r): r is number => r !== null))
  const rows = cells.map((c, i): ImpactRow => {
    const n = counts.get(c.category)!
    const rate = rates[i]!
    const impactRatio = rate === null || highest === 0 ? null : rate / highest
    return {
      ...c,
      candidates: n.candidates,
      selected: n.selected,
      rate,
      impactRatio,
      smallCategory: sample.length > 0 && n.candidates / sample.length < smallCategoryShare,
      belowFourFifths: impactRatio !== null && impactRatio < fourFifths
    }
  })
  return { group, unknown, declined, rows }
}

/** The impact-ratio table of `sample` (every candidate of the period, unknown categories included). */
export const impactRatios = (sample: ReadonlyArray<ImpactCandidate>): ImpactTable => {
  const sexOf = (c: ImpactCandidate) => known(c.sex, sexCategories)
  const raceOf = (c: ImpactCandidate) => known(c.raceEthnicity, raceEthnicityCategories)
  const intersections = sexCategories.flatMap((sex) =>
    raceEthnicityCategories.map((race) => ({ category: `${sex}/${race}`, sex, raceEthnicity: race }))
  )
  return {
    sampleSize: sample.length,
    selected: sample.filter((c) => c.selected).length,
    groups: [
      groupOf(
        "sex",
        sexCategories.map((sex) => ({ category: sex, sex, raceEthnicity: null })),
        sample,
        sexOf,
        (c) => c.sex === "declined"
      ),
      groupOf(
        "race_ethnicity",
        raceEthnicityCategories.map((race) => ({ category: race, sex: null, raceEthnicity: race })),
        sample,
        raceOf,
        (c) => c.raceEthnicity === "declined"
      ),
      groupOf(
        "intersection",
        intersections,
        sample,
        (c) => {
          const sex = sexOf(c)
          const race = raceOf(c)
          return sex === null || race === null ? null : `${sex}/${race}`
        },
        (c) => c.sex === "declined" || c.raceEthnicity === "declined"
      )
    ]
  }
}

const csvField = (value: string | number | boolean | null): string => {
  if (value === null) return ""
  const text = typeof value === "number" ? String(Math.round(value * 10_000) / 10_000) : String(value)
  return /[",\n\r]/u.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** The same table as CSV: one line per category, then per group the `unknown` count and, of it, `declined`. */
export const impactRatiosCsv = (table: ImpactTable): string => {
  const header = [
    "group",
    "category",
    "sex",
    "race_ethnicity",
    "candidates",
    "selected",
    "rate",
    "impact_ratio",
    "small_category",
    "below_four_fifths"
  ]
  const lines = [header.join(",")]
  for (const g of table.groups) {
    for (const r of g.rows) {
      lines.push(
        [
          g.group,
          r.category,
          r.sex,
          r.raceEthnicity,
          r.candidates,
          r.selected,
          r.rate,
          r.impactRatio,
          r.smallCategory,
          r.belowFourFifths
        ]
          .map(csvField)
          .join(",")
      )
    }
    lines.push([g.group, "unknown", null, null, g.unknown, null, null, null, null, null].map(csvField).join(","))
    lines.push([g.group, "declined", null, null, g.declined, null, null, null, null, null].map(csvField).join(","))
  }
  return `${lines.join("\r\n")}\r\n`
}
