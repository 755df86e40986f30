/**
 * The rubric used when a question comes without one. Three equally weighted
 * criteria that apply to any open question; `coverage` measures the question's
 * expected points when it lists them, otherwise the substance a complete answer
 * would need.
 */
import type { QuestionInput, Rubric } from "../../schemas/Rubric.ts"

export const defaultRubric: Rubric = {
  criteria: [
    {
      id: "relevance",
      name: "Relevance",
      description: "Answers the question that was asked, stays on topic, addresses its key terms.",
      weight: 1,
      levels: {
        "1": "Does not address the question.",
        "3": "Addresses the question in part or only in general terms.",
        "5": "Directly and fully answers the question asked."
      }
    },
    {
      id: "coverage",
      name: "Coverage of expected points",
      description:
        "Covers the expected points of a strong answer (the question's expected points when given) with concrete substance.",
      weight: 1,
      levels: {
        "1": "Covers none of the expected points.",
        "3": "Covers about half of the expected points, or covers them superficially.",
        "5": "Covers all expected points with specifics or examples."
      }
    },
    {
      id: "clarity",
      name: "Clarity",
      description: "Well organised, precise and easy to follow; uses examples where they help.",
      weight: 1,
      levels: {
        "1": "Confusing or incoherent.",
        "3": "Understandable but loosely organised or vague in places.",
        "5": "Clear structure, precise wording, helpful examples."
      }
    }
  ]
}

/** The rubric a question is scored against, and where it came from. */
export const rubricFor = (
  question: QuestionInput
): { readonly rubric: Rubric; readonly source: "question" | "default" } =>
  question.rubric === undefined
    ? { rubric: defaultRubric, source: "default" }
    : { rubric: question.rubric, source: "question" }
