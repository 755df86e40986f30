/** What a candidate agreed to, as recorded through `POST /v1/interviews/:id/consents`. */
import { Schema } from "effect"

export const ConsentKind = Schema.Literals(["recording", "affect_analysis", "data_processing"]).annotate({
  description:
    "recording: webcam frames and keyframes are processed and kept; affect_analysis: emotion and blink signals; data_processing: answers are stored and scored."
})

export const RecordConsentRequest = Schema.Struct({
  kind: ConsentKind,
  granted: Schema.Boolean.annotate({ description: "true when given, false when refused or withdrawn." }),
  noticeVersion: Schema.String.check(
    Schema.isPattern(/^[A-Za-z0-9._-]{1,64}$/u, {
      message: "noticeVersion must be 1 to 64 letters, digits, '.', '_' or '-'"
    })
  ).annotate({ description: "Version of the notice the candidate was shown." })
}).annotate({ title: "RecordConsentRequest" })

export const Consent = Schema.Struct({
  id: Schema.String,
  kind: ConsentKind,
  granted: Schema.Boolean,
  noticeVersion: Schema.String,
  createdAt: Schema.String
}).annotate({ title: "Consent" })

export const ConsentList = Schema.Struct({
  items: Schema.Array(Consent).annotate({
    description: "Every decision, oldest first; the latest per kind is in force."
  })
}).annotate({ title: "ConsentList" })
