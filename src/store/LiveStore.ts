/**
 * Live state for recruiters watching an interview: a hash per interview and a pub/sub channel. Redis when
 * `REDIS_URL` is set (shared across nodes), otherwise an in-process store with the same contract.
 * Losing it pauses the live view and nothing else, so commands fail fast instead of queueing.
 */
import { Context, Effect, Layer, Queue, Redacted, Schema, Stream } from "effect"
import type { Redis } from "ioredis"
import { AppConfig } from "../config.ts"

export class LiveStoreError extends Schema.TaggedError<LiveStoreError>()("LiveStoreError", {
  operation: Schema.String,
  message: Schema.String
}) {}

export interface LiveStoreShape {
  readonly backend: "redis" | "memory"
  readonly hgetall: (key: string) => Effect.Effect<Record<string, string>, LiveStoreError>
  readonly del: (key: string) => Effect.Effect<void, LiveStoreError>
  readonly publish: (channel: string, message: string) => Effect.Effect<void, LiveStoreError>
  /**
   * Hash updates (each with its expiry) then messages, in order, in one round trip: on Redis one pipeline, so
   * one socket write for all of them where single commands cost one each. Fails if any of them failed; the
   * messages published before a failure stay published.
   */
  readonly writeBatch: (batch: LiveBatch) => Effect.Effect<void, LiveStoreError>
  /** Messages published on `channel` from now on, until the stream's scope closes. */
  readonly subscribe: (channel: string) => Stream.Stream<string>
  readonly ping: Effect.Effect<void, LiveStoreError>
}

export interface LiveBatch {
  readonly hashes: ReadonlyArray<{
    readonly key: string
    readonly fields: Record<string, string | number>
    readonly ttlSeconds: number
  }>
  readonly messages: ReadonlyArray<{ readonly channel: string; readonly message: string }>
}

type Listener = (message: string) => void

/** Local fan-out shared by both backends: one upstream subscription per channel, many local listeners. */
const makeFanout = (onFirst: (channel: string) => void, onLast: (channel: string) => void) => {
  const listeners = new Map<string, Set<Listener>>()
  return {
    dispatch: (channel: string, message: string) => {
      for (const l of listeners.get(channel) ?? []) l(message)
    },
    stream: (channel: string): Stream.Stream<string> =>
      Stream.callback<string>((queue) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const listener: Listener = (m) => {
              Queue.offerUnsafe(queue, m)
            }
            let set = listeners.get(channel)
            if (set === undefined) {
              set = new Set()
              listeners.set(channel, set)
              onFirst(channel)
            }
            set.add(listener)
            return listener
          }),
          (listener) =>
            Effect.sync(() => {
              const set = listeners.get(channel)
              set?.delete(listener)
              if (set !== undefined && set.size === 0) {
                listeners.delete(channel)
                onLast(channel)
              }
            })
        )
      )
  }
}

/** In-process store: the embedded default, and the test double of Redis. */
export const makeMemory = (): LiveStoreShape => {
  const hashes = new Map<string, { fields: Map<string, string>; expiresAt: number | undefined }>()
  const live = (key: string) => {
    const entry = hashes.get(key)
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      hashes.delete(key)
      return undefined
    }
    return entry
  }
  const fanout = makeFanout(
    () => {},
    () => {}
  )
  // Expired hashes are dropped when read; a periodic sweep drops those nobody reads again (finished interviews).
  let writes = 0
  const sweep = () => {
    const now = Date.now()
    for (const [key, entry] of hashes) if (entry.expiresAt !== undefined && entry.expiresAt <= now) hashes.delete(key)
  }
  const hset = (key: string, fields: Record<string, string | number>) => {
    if (++writes % 1024 === 0) sweep()
    let entry = live(key)
    if (entry === undefined) {
      entry = { fields: new Map(), expiresAt: undefined }
      hashes.set(key, entry)
    }
    for (const [k, v] of Object.entries(fields)) entry.fields.set(k, String(v))
  }
  const expire = (key: string, seconds: number) => {
    const entry = live(key)
    if (entry !== undefined) entry.expiresAt = Date.now() + seconds * 1000
  }
  return {
    backend: "memory",
    hgetall: (key) => Effect.sync(() => Object.fromEntries(live(key)?.fields ?? [])),
    del: (key) => Effect.sync(() => void hashes.delete(key)),
    publish: (channel, message) => Effect.sync(() => fanout.dispatch(channel, message)),
    writeBatch: (batch) =>
      Effect.sync(() => {
        for (const h of batch.hashes) {
          hset(h.key, h.fields)
          expire(h.key, h.ttlSeconds)
        }
        for (const m of batch.messages) fanout.dispatch(m.channel, m.message)
      }),
    subscribe: fanout.stream,
    ping: Effect.void
  }
}

const redisCall = <A>(operation: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (cause) => new LiveStoreError({ operation, message: cause instanceof Error ? cause.message : String(cause) })
  })

/** Redis-backed store; `prefix` namespaces every key and channel. */
export const makeRedis = (url: string, prefix: string) =>
  Effect.gen(function* () {
    // Loaded only here: an engine without REDIS_URL never needs the client library.
    const ioredis = yield* Effect.promise(() => import("ioredis"))
    // Commands fail fast while Redis is away (the live view pauses); subscriptions queue until it is back.
    const acquire = (name: string, enableOfflineQueue: boolean) =>
      Effect.acquireRelease(
        Effect.promise(async (): Promise<Redis> => {
          const client = new ioredis.Redis(url, {
            enableOfflineQueue,
            maxRetriesPerRequest: 1,
            connectTimeout: 2000,
            lazyConnect: true,
            connectionName: `candor-${name}`
          })
          // ioredis reconnects on its own; without a listener an outage would be an unhandled 'error' event.
          client.on("error", () => {})
          await client.connect().catch(() => {})
          return client
        }),
        (client) => Effect.sync(() => client.disconnect())
      )
    const commands = yield* acquire("commands", false)
    const subscriber = yield* acquire("subscriber", true)
    const fanout = makeFanout(
      (channel) => void subscriber.subscribe(prefix + channel).catch(() => {}),
      (channel) => void subscriber.unsubscribe(prefix + channel).catch(() => {})
    )
    subscriber.on("message", (channel: string, message: string) =>
      fanout.dispatch(channel.slice(prefix.length), message)
    )
    const store: LiveStoreShape = {
      backend: "redis",
      hgetall: (key) => redisCall("hgetall", () => commands.hgetall(prefix + key)),
      del: (key) => redisCall("del", () => commands.del(prefix + key)).pipe(Effect.asVoid),
      publish: (channel, message) =>
        redisCall("publish", () => commands.publish(prefix + channel, message)).pipe(Effect.asVoid),
      writeBatch: (batch) =>
        redisCall("pipeline", async () => {
          const pipeline = commands.pipeline()
          for (const h of batch.hashes) {
            // HSET with no field is an error in Redis; the expiry still applies.
            if (Object.keys(h.fields).length > 0) pipeline.hset(prefix + h.key, h.fields)
            pipeline.expire(prefix + h.key, h.ttlSeconds)
          }
          for (const m of batch.messages) pipeline.publish(prefix + m.channel, m.message)
          if (pipeline.length === 0) return
          const failed = (await pipeline.exec())?.find(([error]) => error !== null)
          if (failed !== undefined) throw failed[0]
        }),
      subscribe: fanout.stream,
      ping: redisCall("ping", () => commands.ping()).pipe(Effect.asVoid)
    }
    return store
  })

/** Live state for recruiters (Redis or in-process). */
export class LiveStore extends Context.Service<LiveStore, LiveStoreShape>()("candor/LiveStore") {
  static readonly layerMemory = Layer.sync(LiveStore, makeMemory)

  static readonly layer = Layer.effect(
    LiveStore,
    Effect.gen(function* () {
      const config = yield* AppConfig
      return config.redisUrl === undefined
        ? makeMemory()
        : yield* makeRedis(Redacted.value(config.redisUrl), config.redisPrefix)
    })
  )
}
