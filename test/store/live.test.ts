import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { type LiveStoreShape, makeMemory, makeRedis } from "../../src/store/LiveStore.ts"

const stores: Array<[string, Effect.Effect<LiveStoreShape, never, any>]> = [["memory", Effect.sync(makeMemory)]]
if (process.env.REDIS_URL) {
  stores.push(["redis", makeRedis(process.env.REDIS_URL, `candor-test:${randomBytes(6).toString("hex")}:`)])
}

for (const [name, make] of stores) {
  describe(`live store on ${name}`, () => {
    it.effect("keeps hashes, expires them and deletes them", () =>
      Effect.gen(function* () {
        const store = yield* make
        const hash = (key: string, fields: Record<string, string | number>, ttlSeconds = 60) =>
          store.writeBatch({ hashes: [{ key, fields, ttlSeconds }], messages: [] })
        yield* hash("interview:a", { frames: 3, status: "live" })
        yield* hash("interview:a", { frames: 4 })
        expect(yield* store.hgetall("interview:a")).toEqual({ frames: "4", status: "live" })
        // A later write sets the hash's expiry anew.
        yield* hash("interview:a", {}, 1)
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 1200)))
        expect(yield* store.hgetall("interview:a")).toEqual({})
        yield* hash("interview:b", { x: 1 })
        yield* store.del("interview:b")
        expect(yield* store.hgetall("interview:b")).toEqual({})
        yield* store.ping
      }).pipe(Effect.scoped)
    )

    it.effect("delivers published messages to every subscriber of the channel and to no other", () =>
      Effect.gen(function* () {
        const store = yield* make
        const first = yield* Effect.forkChild(Stream.runCollect(Stream.take(store.subscribe("c1"), 3)))
        const second = yield* Effect.forkChild(Stream.runCollect(Stream.take(store.subscribe("c1"), 3)))
        const other = yield* Effect.forkChild(Stream.runCollect(Stream.take(store.subscribe("c2"), 1)))
        // Subscriptions are asynchronous on Redis: publish until they are in place.
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 300)))
        for (const m of ["m1", "m2", "m3"]) yield* store.publish("c1", m)
        expect(yield* Fiber.join(first)).toEqual(["m1", "m2", "m3"])
        expect(yield* Fiber.join(second)).toEqual(["m1", "m2", "m3"])
        yield* store.publish("c2", "only")
        expect(yield* Fiber.join(other)).toEqual(["only"])
      }).pipe(Effect.scoped)
    )

    it.effect("writes a batch of hashes and messages in one go, messages in order", () =>
      Effect.gen(function* () {
        const store = yield* make
        const got = yield* Effect.forkChild(Stream.runCollect(Stream.take(store.subscribe("c3"), 3)))
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 300)))
        yield* store.writeBatch({
          hashes: [{ key: "interview:c", fields: { status: "live", frames: 1 }, ttlSeconds: 60 }],
          messages: []
        })
        yield* store.writeBatch({
          hashes: [
            { key: "interview:c", fields: { frames: 2 }, ttlSeconds: 1 },
            { key: "interview:d", fields: { frames: 7 }, ttlSeconds: 60 },
            // A hash with nothing to set (Redis refuses an empty HSET) does not fail the batch.
            { key: "interview:e", fields: {}, ttlSeconds: 60 }
          ],
          messages: ["m1", "m2", "m3"].map((message) => ({ channel: "c3", message }))
        })
        expect(yield* Fiber.join(got)).toEqual(["m1", "m2", "m3"])
        expect(yield* store.hgetall("interview:c")).toEqual({ status: "live", frames: "2" })
        expect(yield* store.hgetall("interview:d")).toEqual({ frames: "7" })
        expect(yield* store.hgetall("interview:e")).toEqual({})
        yield* store.writeBatch({ hashes: [], messages: [] })
        // Each hash got its own expiry.
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 1200)))
        expect(yield* store.hgetall("interview:c")).toEqual({})
        expect(yield* store.hgetall("interview:d")).toEqual({ frames: "7" })
        yield* store.del("interview:d")
      }).pipe(Effect.scoped)
    )
  })
}

describe("live store when Redis is unreachable", () => {
  it.effect("fails fast with a typed error instead of hanging", () =>
    Effect.gen(function* () {
      const store = yield* makeRedis("redis://127.0.0.1:1", "candor-test:")
      const error = yield* Effect.flip(store.hgetall("k"))
      expect(error._tag).toBe("LiveStoreError")
      expect((yield* Effect.flip(store.ping))._tag).toBe("LiveStoreError")
      const batch = {
        hashes: [{ key: "k", fields: { a: 1 }, ttlSeconds: 5 }],
        messages: [{ channel: "c", message: "m" }]
      }
      expect((yield* Effect.flip(store.writeBatch(batch)))._tag).toBe("LiveStoreError")
    }).pipe(Effect.scoped)
  )
})
