/** Where an interview's report will be: sessions tell the candidate when they finish. Provided by the composition. */
import { Context } from "effect"

export class ReportLinks extends Context.Service<ReportLinks, (interviewId: string) => string>()(
  "candor/ReportLinks"
) {}
