/**
 * `candor seed`: a demo tenant with an API key, one interview with two questions, and its candidate token, so a
 * recruiter or a load tester can try Candor at once.
 */
import { Effect } from "effect"
import type { SeedResult } from "../schemas/Api.ts"
import { JoinTokens } from "./http/JoinTokens.ts"
import { AuditLog } from "./store/AuditLog.ts"
import { Interviews } from "./store/Interviews.ts"
import { Tenants } from "./store/Tenants.ts"

export const demoQuestions = [
  {
    prompt: "Tell us about a system you designed that had to handle a sudden tenfold increase in load.",
    rubric: {
      criteria: [
        {
          id: "design",
          name: "System design",
          description: "architecture, scaling, bottlenecks, caching, queues",
          weight: 2
        },
        {
          id: "tradeoffs",
          name: "Trade-offs",
          description: "cost, consistency, latency, alternatives considered",
          weight: 1
        },
        {
          id: "communication",
          name: "Communication",
          description: "clear structure, concrete examples, numbers",
          weight: 1
        }
      ]
    },
    expectedPoints: [
      "measured the bottleneck before changing anything",
      "horizontal scaling",
      "back-pressure or load shedding"
    ]
  },
  {
    prompt: "Describe a time you disagreed with a teammate about a technical decision. What happened?",
    expectedPoints: ["listened to the other view", "used data or a prototype to decide", "outcome and what was learned"]
  }
]

export const seedDemo = (name = "Demo tenant") =>
  Effect.gen(function* () {
    const tenants = yield* Tenants
    const interviews = yield* Interviews
    const tokens = yield* JoinTokens
    const audit = yield* AuditLog
    const tenant = yield* tenants.create({ name, region: "other", affectPolicy: "enabled" })
    const key = yield* tenants.issueKey(tenant.id, "demo")
    const interview = yield* interviews.create(
      tenant.id,
      { candidate: { name: "Ada Demo", email: "ada@example.com" }, questions: demoQuestions },
      tenant.affectPolicy === "enabled"
    )
    const token = yield* tokens.issue(interview.id, tenant.id)
    yield* audit.record({ tenantId: tenant.id, actor: "system", action: "tenant.seed", subject: tenant.id })
    const result: SeedResult = {
      tenantId: tenant.id,
      apiKey: key.key,
      interviewId: interview.id,
      candidateToken: token.token
    }
    return result
  }).pipe(Effect.withSpan("Seed.demo"))
