/** The grading prompt in use. Older versions stay importable so stored scores remain explainable. */
export * as v1 from "./v1.ts"
export * as current from "./v1.ts"
