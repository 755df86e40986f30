/**
 * The overall score: a weighted mean of per-signal values on 0–100, with the weights a tenant configured
 * (`tenants.score_weights`) or the defaults below. Every component is listed with its value, weight and share, so
 * a reader can redo the arithmetic.
 *
 * Defaults: answers 0.8, attention 0.2, emotion 0, blinks 0. Affect signals are shown in the report for context
 * but move the score only when a tenant gives them a weight; what they measure is not ability. A tenant's
 * weights replace the defaults as a whole: a signal it does not name weighs 0.
 */
import type { AffectSummary, Attention, Overall, OverallComponent, Signal } from "../../schemas/Report.ts"

export const signals: ReadonlyArray<Signal> = ["answers", "attention", "emotion", "blinks"]

export const defaultWeights: Readonly<Record<Signal, number>> = { answers: 0.8, attention: 0.2, emotion: 0, blinks: 0 }

/** Blink rates at rest in conversation fall roughly in this band (per minute). */
const typicalBlinkRate = { low: 8, high: 21 }

const round1 = (x: number): number => Math.round(x * 10) / 10

const clampPercent = (x: number): number => Math.min(100, Math.max(0, x))

/** Blink rate → 0–100: 100 inside the typical band, falling linearly to 0 at no blinks or at twice the upper bound. */
export const blinkValue = (perMinute: number): number => {
  if (perMinute < typicalBlinkRate.low) return clampPercent((perMinute / typicalBlinkRate.low) * 100)
  if (perMinute > typicalBlinkRate.high) {
    return clampPercent(100 - ((perMinute - typicalBlinkRate.high) / typicalBlinkRate.high) * 100)
  }
  return 100
}

/** The weights in force and where they came from; invalid entries (negative, not finite, unknown) are ignored. */
export const weightsFor = (
  configured: Readonly<Record<string, unknown>>
): { readonly weights: Record<Signal, number>; readonly source: "tenant" | "default" } => {
  const valid = signals.filter((s) => {
    const w = configured[s]
    return typeof w === "number" && Number.isFinite(w) && w >= 0
  })
  if (valid.length === 0) return { weights: { ...defaultWeights }, source: "default" }
  const weights = Object.fromEntries(signals.map((s) => [s, valid.includes(s) ? (configured[s] as number) : 0]))
  return { weights: weights as Record<Signal, number>, source: "tenant" }
}

export interface AnswerTally {
  /** Overall (0–100) of each scored answer. */
  readonly scored: ReadonlyArray<number>
  readonly unanswered: number
  readonly failed: number
  readonly pending: number
}

export interface OverallInputs {
  readonly answers: AnswerTally
  readonly attention: Attention | null
  readonly affect: AffectSummary | null
  readonly affectSignals: boolean
  readonly provisional: boolean
  readonly configuredWeights: Readonly<Record<string, unknown>>
}

export const overallOf = (inputs: OverallInputs): Overall => {
  const { weights, source } = weightsFor(inputs.configuredWeights)
  const { answers, affect } = inputs
  const counted = answers.scored.length + answers.unanswered
  const values: Record<Signal, { value: number | null; basis: string }> = {
    answers: {
      value: counted === 0 ? null : round1(answers.scored.reduce((a, b) => a + b, 0) / counted),
      basis:
        "Mean overall score of the answers (0–100); unanswered questions count as 0, answers whose scoring failed or is still running are left out."
    },
    attention: {
      value: inputs.attention === null ? null : round1(inputs.attention.facePresence * 100),
      basis: "Share of analysed video frames with the candidate's face, in percent."
    },
    emotion: {
      value: affect === null ? null : round1(clampPercent((affect.emotion.neutral + affect.emotion.happy) * 100)),
      basis: "Share of neutral and happy expression in the mean emotion distribution (affect signal)."
    },
    blinks: {
      value: affect?.blinksPerMinute == null ? null : round1(blinkValue(affect.blinksPerMinute)),
      basis: `100 for ${typicalBlinkRate.low}–${typicalBlinkRate.high} blinks per minute, falling linearly outside (affect signal).`
    }
  }
  const available = signals.filter((s) => values[s].value !== null && weights[s] > 0)
  const total = available.reduce((a, s) => a + weights[s], 0)
  const components: Array<OverallComponent> = signals.map((signal) => ({
    signal,
    value: values[signal].value,
    weight: weights[signal],
    share: total > 0 && available.includes(signal) ? Math.round((weights[signal] / total) * 10_000) / 10_000 : 0,
    basis: values[signal].basis
  }))
  const score = total > 0 ? round1(available.reduce((a, s) => a + values[s].value! * weights[s], 0) / total) : null

  const notes: Array<string> = []
  if (source === "default") {
    notes.push("Default weights (answers 0.8, attention 0.2, emotion 0, blinks 0); the tenant has set none.")
  }
  if (!inputs.affectSignals && (weights.emotion > 0 || weights.blinks > 0)) {
    notes.push("Affect signals were off for this interview; their weights were not used.")
  }
  if (inputs.affectSignals && affect !== null && weights.emotion === 0 && weights.blinks === 0) {
    notes.push("Affect signals are shown for context only; with weight 0 they do not change the score.")
  }
  if (answers.unanswered > 0) notes.push(`${answers.unanswered} unanswered question(s) count as 0.`)
  if (answers.failed > 0) notes.push(`${answers.failed} answer(s) could not be scored and are left out.`)
  if (answers.pending > 0) notes.push(`${answers.pending} answer(s) are still being scored.`)
  if (score === null) notes.push("No weighted signal is available, so there is no overall score.")
  return {
    score,
    provisional: inputs.provisional,
    weightsSource: source,
    weights: { ...weights },
    components,
    notes
  }
}
