/**
 * The seven emotion classes, in the emotion model's output order (its `probs` output and `cam` channels follow
 * it). A module of its own without imports, so the inference workers can load it without the Schema library.
 */
export const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] as const

/** The strongest non-neutral emotion probability of a face's scores (0 without any): what expression keyframes rank. */
export const strongestExpression = (
  e: Readonly<Record<(typeof EMOTIONS)[number], number>> | null | undefined
): number => (e == null ? 0 : Math.max(e.angry, e.disgust, e.fear, e.happy, e.sad, e.surprise))
