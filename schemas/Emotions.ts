/**
 * The seven emotion classes, in the emotion model's output order (its `probs` output and `cam` channels follow
 * it). A module of its own without imports, so the inference workers can load it without the Schema library.
 */
export const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] as const
