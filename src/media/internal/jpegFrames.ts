/**
 * Cuts a byte stream of concatenated JPEGs (ffmpeg's `image2pipe` of `mjpeg`) into whole images. Markers are
 * walked by their lengths and the entropy-coded data scanned for the next real marker, so a table that happens to
 * hold the bytes of an end-of-image marker cannot cut an image short.
 */

const SOI = 0xd8
const EOI = 0xd9
const SOS = 0xda

/** Markers without a length field: TEM and the restart markers. */
const standalone = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)

/**
 * The length of the JPEG at the start of `buf`, or -1 when it is not complete yet. `buf` must start with SOI.
 */
const jpegLength = (buf: Uint8Array): number => {
  let i = 2
  for (;;) {
    if (i + 1 >= buf.length) return -1
    if (buf[i] !== 0xff) {
      i++
      continue
    }
    const marker = buf[i + 1]!
    if (marker === 0xff) {
      i++
      continue
    }
    if (marker === EOI) return i + 2
    if (standalone(marker)) {
      i += 2
      continue
    }
    if (i + 3 >= buf.length) return -1
    const end = i + 2 + ((buf[i + 2]! << 8) | buf[i + 3]!)
    if (end > buf.length) return -1
    if (marker !== SOS) {
      i = end
      continue
    }
    // Entropy-coded data: 0xFF is followed by 0x00 (a stuffed byte) or a restart marker; anything else is a marker.
    let j = end
    for (;;) {
      if (j + 1 >= buf.length) return -1
      if (buf[j] !== 0xff) {
        j++
        continue
      }
      const next = buf[j + 1]!
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) j += 2
      else if (next === 0xff) j++
      else break
    }
    i = j
  }
}

/** Splits concatenated JPEGs arriving in chunks of any size. */
export class JpegSplitter {
  private pending: Buffer = Buffer.alloc(0)

  /** Bytes received that are not part of a whole image yet. */
  get buffered(): number {
    return this.pending.length
  }

  /** Takes a chunk; returns the images it completed (each its own copy). */
  push(chunk: Uint8Array): Array<Uint8Array> {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk])
    const out: Array<Uint8Array> = []
    for (;;) {
      const start = this.pending.indexOf(SOI_BYTES)
      if (start < 0) {
        // Keep a trailing 0xFF: it may be the first half of the next SOI.
        this.pending = this.pending.at(-1) === 0xff ? this.pending.subarray(-1) : Buffer.alloc(0)
        return out
      }
      if (start > 0) this.pending = this.pending.subarray(start)
      const length = jpegLength(this.pending)
      if (length < 0) return out
      out.push(new Uint8Array(this.pending.subarray(0, length)))
      this.pending = this.pending.subarray(length)
    }
  }
}

const SOI_BYTES = Buffer.from([0xff, SOI])
