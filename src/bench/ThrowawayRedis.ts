/**
 * A Redis key prefix of one bench engine (or one bench cluster) of its own, its keys deleted afterwards: runs never
 * see each other's live view, and the bench leaves nothing behind on a shared Redis server.
 */
import { randomBytes } from "node:crypto"
import { Redis } from "ioredis"

export interface ThrowawayPrefix {
  readonly url: string
  /** `REDIS_PREFIX` for the engines: `candor-bench:<random>:`. */
  readonly prefix: string
  /** Deletes every key under the prefix. */
  readonly drop: () => Promise<void>
}

export const createThrowawayPrefix = (url: string): ThrowawayPrefix => {
  const prefix = `candor-bench:${Date.now().toString(36)}${randomBytes(3).toString("hex")}:`
  return {
    url,
    prefix,
    drop: async () => {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 })
      try {
        await redis.connect()
        let cursor = "0"
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500)
          cursor = next
          if (keys.length > 0) await redis.unlink(...keys)
        } while (cursor !== "0")
      } finally {
        redis.disconnect()
      }
    }
  }
}
