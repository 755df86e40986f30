/**
 * A number in [0, 1) spread from an integer-valued input by a multiplicative hash (Fibonacci hashing), so inputs
 * a few apart (capture times of sessions started together) land far apart. Deterministic: the same input gives
 * the same value, so tests and replays stay repeatable.
 */
export const scatter = (value: number): number => (Math.imul(Math.trunc(value) | 0, 0x9e3779b1) >>> 0) / 2 ** 32
