import { Schema } from "effect"

/** The TFJS graph uses an op (or a fused op, or an attribute value) the converter does not translate. */
export class UnsupportedOp extends Schema.TaggedError<UnsupportedOp>()("UnsupportedOp", {
  op: Schema.String,
  node: Schema.String,
  detail: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return `unsupported TF op ${this.op} at node ${this.node}${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

/** The model.json / weights are malformed or inconsistent (missing tensor, short weight file, bad shape). */
export class InvalidModel extends Schema.TaggedError<InvalidModel>()("InvalidModel", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid TFJS model: ${this.reason}`
  }
}
