/**
 * Impact ratios against a hand computation: a generated sample of 200 candidates (a fixed pseudo-random
 * sequence), counted here with plain loops over explicit category lists, independently of the module.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  type ImpactCandidate,
  impactRatios,
  impactRatiosCsv,
  median,
  scoringOutcomes
} from "../../src/reports/ImpactRatios.ts"

/** Park–Miller minimal standard generator: the same 200 candidates every run. */
const generator = (seed: number) => {
  let state = seed
  return () => {
    state = (state * 48271) % 2147483647
    return state / 2147483647
  }
}

const SEXES = ["female", "male"]
const RACES = [
  "hispanic_or_latino",
  "white",
  "black_or_african_american",
  "native_hawaiian_or_pacific_islander",
  "asian",
  "american_indian_or_alaska_native",
  "two_or_more_races"
]

/** 200 candidates; a few race categories are rare on purpose (small categories), some answers are missing. */
const sample = (): Array<ImpactCandidate & { score: number }> => {
  const random = generator(20260501)
  const out: Array<ImpactCandidate & { score: number }> = []
  for (let i = 0; i < 200; i++) {
    const s = random()
    const sex = s < 0.45 ? "female" : s < 0.9 ? "male" : s < 0.95 ? "declined" : null
    const r = random()
    const race =
      r < 0.3
        ? "white"
        : r < 0.5
          ? "black_or_african_american"
          : r < 0.68
            ? "hispanic_or_latino"
            : r < 0.83
              ? "asian"
              : r < 0.86
                ? "two_or_more_races"
                : r < 0.875
                  ? "native_hawaiian_or_pacific_islander"
                  : r < 0.885
                    ? "american_indian_or_alaska_native"
                    : r < 0.95
                      ? "declined"
                      : null
    // Selection odds differ by category so that some ratios fall under 0.8.
    const odds = (sex === "female" ? 0.35 : 0.5) * (race === "asian" ? 1.2 : race === "hispanic_or_latino" ? 0.6 : 1)
    out.push({
      sex,
      raceEthnicity: race,
      selected: random() < odds,
      score: Math.round(random() * 1000) / 10
    })
  }
  return out
}

interface Hand {
  candidates: number
  selected: number
  rate: number | null
  ratio: number | null
}

/** Counts by hand: rows for `cells`, each matched by `matches`; ratios against the best rate. */
const byHand = (
  people: ReadonlyArray<ImpactCandidate>,
  cells: ReadonlyArray<string>,
  matches: (p: ImpactCandidate, cell: string) => boolean
) => {
  const table: Record<string, Hand> = {}
  for (const cell of cells) {
    let candidates = 0
    let selected = 0
    for (const p of people) {
      if (matches(p, cell)) {
        candidates += 1
        if (p.selected) selected += 1
      }
    }
    table[cell] = { candidates, selected, rate: candidates > 0 ? selected / candidates : null, ratio: null }
  }
  let best = 0
  for (const cell of cells) {
    const rate = table[cell]!.rate
    if (rate !== null && rate > best) best = rate
  }
  for (const cell of cells) {
    const rate = table[cell]!.rate
    table[cell]!.ratio = rate !== null && best > 0 ? rate / best : null
  }
  let unknown = 0
  for (const p of people) if (!cells.some((c) => matches(p, c))) unknown += 1
  return { table, unknown }
}

const checkAgainstHand = (people: ReadonlyArray<ImpactCandidate>) => {
  const result = impactRatios(people)
  expect(result.sampleSize).toBe(200)
  const hands = {
    sex: byHand(people, SEXES, (p, c) => p.sex === c),
    race_ethnicity: byHand(people, RACES, (p, c) => p.raceEthnicity === c),
    intersection: byHand(
      people,
      SEXES.flatMap((s) => RACES.map((r) => `${s}/${r}`)),
      (p, c) => `${p.sex}/${p.raceEthnicity}` === c
    )
  }
  for (const group of result.groups) {
    const hand = hands[group.group]
    expect(group.unknown, group.group).toBe(hand.unknown)
    expect(group.rows.map((r) => r.category).sort()).toEqual(Object.keys(hand.table).sort())
    for (const row of group.rows) {
      const h = hand.table[row.category]!
      const label = `${group.group} ${row.category}`
      expect(row.candidates, label).toBe(h.candidates)
      expect(row.selected, label).toBe(h.selected)
      if (h.rate === null) expect(row.rate, label).toBeNull()
      else expect(row.rate, label).toBeCloseTo(h.rate, 12)
      if (h.ratio === null) expect(row.impactRatio, label).toBeNull()
      else expect(row.impactRatio, label).toBeCloseTo(h.ratio, 12)
      expect(row.smallCategory, label).toBe(h.candidates < 4) // 2 % of 200
      expect(row.belowFourFifths, label).toBe(h.ratio !== null && h.ratio < 0.8)
    }
  }
  return result
}

describe("impact ratios", () => {
  it("selection basis: 200 generated candidates match the hand computation, flags included", () => {
    const people = sample()
    const result = checkAgainstHand(people)
    let selected = 0
    for (const p of people) if (p.selected) selected += 1
    expect(result.selected).toBe(selected)
    // The sample exercises every flag and the unknown counts.
    const rows = result.groups.flatMap((g) => g.rows)
    expect(rows.some((r) => r.smallCategory)).toBe(true)
    expect(rows.some((r) => r.belowFourFifths)).toBe(true)
    expect(rows.some((r) => r.impactRatio === 1)).toBe(true)
    const sex = result.groups.find((g) => g.group === "sex")!
    let declinedSex = 0
    for (const p of people) if (p.sex === "declined") declinedSex += 1
    expect(sex.declined).toBe(declinedSex)
    expect(sex.unknown).toBeGreaterThan(sex.declined)
  })

  it("scoring basis: selected means above the median of the whole sample", () => {
    const people = sample()
    const scores = people.map((p) => p.score)
    // By hand: the median of 200 values is the mean of the 100th and 101st in order.
    const ordered = [...scores].sort((a, b) => a - b)
    const handMedian = (ordered[99]! + ordered[100]!) / 2
    const { median: m, selected } = scoringOutcomes(scores)
    expect(m).toBe(handMedian)
    const scored = people.map((p) => ({ sex: p.sex, raceEthnicity: p.raceEthnicity, selected: p.score > handMedian }))
    expect(selected).toEqual(scored.map((p) => p.selected))
    checkAgainstHand(scored)
    expect(median([3, 1, 2])).toBe(2)
    expect(median([])).toBeNull()
  })

  it("a worked example: rates, ratios and flags of a small table, and its CSV", () => {
    const people: Array<ImpactCandidate> = [
      ...Array.from({ length: 10 }, (_, i) => ({ sex: "female", raceEthnicity: "white", selected: i < 4 })),
      ...Array.from({ length: 10 }, (_, i) => ({ sex: "male", raceEthnicity: "asian", selected: i < 6 })),
      { sex: "declined", raceEthnicity: null, selected: true }
    ]
    const table = impactRatios(people)
    const sex = table.groups.find((g) => g.group === "sex")!
    const female = sex.rows.find((r) => r.category === "female")!
    const male = sex.rows.find((r) => r.category === "male")!
    expect([female.rate, male.rate]).toEqual([0.4, 0.6])
    expect(female.impactRatio).toBeCloseTo(2 / 3, 12)
    expect(female.belowFourFifths).toBe(true)
    expect(male.impactRatio).toBe(1)
    expect([sex.unknown, sex.declined]).toEqual([1, 1])
    const csv = impactRatiosCsv(table).split("\r\n")
    expect(csv[0]).toBe(
      "group,category,sex,race_ethnicity,candidates,selected,rate,impact_ratio,small_category,below_four_fifths"
    )
    expect(csv).toContain("sex,female,female,,10,4,0.4,0.6667,false,true")
    expect(csv).toContain("sex,unknown,,,1,,,,,")
    expect(csv).toContain("race_ethnicity,hispanic_or_latino,,hispanic_or_latino,0,0,,,true,false")
  })
})
