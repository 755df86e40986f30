import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import S3rver from "s3rver"
import { makeDisk, makeS3, type MediaStoreShape } from "../../src/store/MediaStore.ts"

const tmp = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "candor-media-"))

const contract = (name: string, store: () => MediaStoreShape) =>
  describe(`media store on ${name}`, () => {
    it.effect("puts, gets, lists and deletes by interview prefix", () =>
      Effect.gen(function* () {
        const media = store()
        const bytes = new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])
        yield* media.put("i1/keyframes/1.jpg", bytes, "image/jpeg")
        yield* media.put("i1/keyframes/2.jpg", bytes, "image/jpeg")
        yield* media.put("i10/keyframes/1.jpg", bytes, "image/jpeg")
        const got = Option.getOrThrow(yield* media.get("i1/keyframes/1.jpg"))
        expect(Array.from(got.bytes)).toEqual(Array.from(bytes))
        expect(got.contentType).toBe("image/jpeg")
        expect(yield* media.list("i1/")).toEqual(["i1/keyframes/1.jpg", "i1/keyframes/2.jpg"])
        expect(yield* media.deletePrefix("i1/")).toBe(2)
        expect(Option.isNone(yield* media.get("i1/keyframes/1.jpg"))).toBe(true)
        expect(yield* media.list("i10/")).toEqual(["i10/keyframes/1.jpg"])
        yield* media.ping
      })
    )

    it.effect("has no object at a key that only prefixes others, before or after they are deleted", () =>
      Effect.gen(function* () {
        const media = store()
        yield* media.put("i2/uploads/u1/0000000000-3", new Uint8Array([1, 2, 3]), "video/webm")
        expect(Option.isNone(yield* media.get("i2/uploads/u1"))).toBe(true)
        yield* media.deletePrefix("i2/uploads/u1/")
        expect(Option.isNone(yield* media.get("i2/uploads/u1"))).toBe(true)
      })
    )

    it.effect("refuses keys that could escape the store", () =>
      Effect.gen(function* () {
        const media = store()
        for (const key of ["../x", "/abs", "a/../../b", "a//b", ""]) {
          const error = yield* Effect.flip(media.put(key, new Uint8Array([1]), "text/plain"))
          expect(error.message).toBe("invalid media key")
        }
      })
    )
  })

contract("disk", () => makeDisk(tmp()))

describe("media store on disk", () => {
  it.effect("reads a directory where a key names one as no object, not as an unavailable store", () =>
    Effect.gen(function* () {
      const root = tmp()
      const media = makeDisk(root)
      yield* media.put("i3/uploads/u1/0000000000-3", new Uint8Array([1, 2, 3]), "video/webm")
      // A content-type file beside the directory leaves the directory itself as the only thing that fails to read
      // (a recording's upload key was once read as "unavailable" when that failure won the race).
      Fs.writeFileSync(Path.join(root, "i3", "uploads", "u1.type"), "video/webm")
      expect(Option.isNone(yield* media.get("i3/uploads/u1"))).toBe(true)
    })
  )
})

describe("S3-compatible server", () => {
  let server: S3rver
  let endpoint = ""
  beforeAll(async () => {
    server = new S3rver({
      port: 0,
      address: "127.0.0.1",
      silent: true,
      directory: tmp(),
      configureBuckets: [{ name: "candor-media", configs: [] }]
    })
    const { port } = await server.run()
    endpoint = `http://127.0.0.1:${port}`
  })
  afterAll(() => server?.close())

  contract("S3 (s3rver)", () =>
    makeS3({
      endpoint,
      region: "us-east-1",
      bucket: "candor-media",
      accessKeyId: Redacted.make("S3RVER"),
      secretAccessKey: Redacted.make("S3RVER"),
      forcePathStyle: true,
      prefix: "test/"
    })
  )

  it.effect("reports an unreachable bucket as a typed error", () =>
    Effect.gen(function* () {
      const media = makeS3({
        endpoint,
        region: "us-east-1",
        bucket: "no-such-bucket",
        accessKeyId: Redacted.make("S3RVER"),
        secretAccessKey: Redacted.make("S3RVER"),
        forcePathStyle: true,
        prefix: ""
      })
      expect((yield* Effect.flip(media.ping))._tag).toBe("MediaStoreError")
    })
  )
})
