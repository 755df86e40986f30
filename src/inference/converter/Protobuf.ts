/**
 * A minimal protobuf encoder: just the wire types ONNX needs (varint, 32-bit, length-delimited).
 * Messages are written field by field in the order the caller gives, so equal input gives equal bytes.
 */

const WIRE_VARINT = 0
const WIRE_LENGTH = 2
const WIRE_FIXED32 = 5

/** Accumulates encoded chunks; `finish` concatenates them once. */
export class ProtoWriter {
  private readonly chunks: Array<Uint8Array> = []
  private pending: Array<number> = []
  private size = 0

  private flushPending(): void {
    if (this.pending.length > 0) {
      this.chunks.push(Uint8Array.from(this.pending))
      this.pending = []
    }
  }

  private byte(value: number): void {
    this.pending.push(value)
    this.size += 1
  }

  private bytesRaw(bytes: Uint8Array): void {
    this.flushPending()
    this.chunks.push(bytes)
    this.size += bytes.length
  }

  /** Unsigned or two's-complement varint; negative int64 values take ten bytes, as protobuf requires. */
  private varint(value: number | bigint): void {
    let v = typeof value === "bigint" ? BigInt.asUintN(64, value) : value
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new RangeError(`varint out of range: ${v}`)
      if (v < 0) {
        v = BigInt.asUintN(64, BigInt(v))
      } else {
        while (v > 0x7f) {
          this.byte((v % 0x80) | 0x80)
          v = Math.floor(v / 0x80)
        }
        this.byte(v)
        return
      }
    }
    let b = v as bigint
    while (b > 0x7fn) {
      this.byte(Number(b & 0x7fn) | 0x80)
      b >>= 7n
    }
    this.byte(Number(b))
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire)
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT)
    this.varint(value)
    return this
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32)
    const buf = new Uint8Array(4)
    new DataView(buf.buffer).setFloat32(0, value, true)
    this.bytesRaw(buf)
    return this
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH)
    this.varint(value.length)
    this.bytesRaw(value)
    return this
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  message(field: number, build: (writer: ProtoWriter) => void): this {
    const child = new ProtoWriter()
    build(child)
    return this.bytes(field, child.finish())
  }

  packedInts(field: number, values: ReadonlyArray<number | bigint>): this {
    const child = new ProtoWriter()
    for (const v of values) child.varint(v)
    return this.bytes(field, child.finish())
  }

  packedFloats(field: number, values: ReadonlyArray<number>): this {
    const buf = new Uint8Array(values.length * 4)
    const view = new DataView(buf.buffer)
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true)
    return this.bytes(field, buf)
  }

  finish(): Uint8Array {
    this.flushPending()
    if (this.chunks.length === 1) return this.chunks[0]!
    const out = new Uint8Array(this.size)
    let offset = 0
    for (const chunk of this.chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }
}
