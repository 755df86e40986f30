/**
 * Media (keyframes, heat-maps, uploaded audio, report snapshots): S3 or any S3-compatible server when
 * `S3_BUCKET` is set, otherwise a local directory. Keys are `<interview id>/<kind>/<name>`, so erasing an
 * interview's media is one prefix delete.
 */
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { AppConfig, type S3Settings } from "../config.ts"

export class MediaStoreError extends Schema.TaggedError<MediaStoreError>()("MediaStoreError", {
  operation: Schema.String,
  key: Schema.String,
  message: Schema.String
}) {}

export interface MediaObject {
  readonly bytes: Uint8Array
  readonly contentType: string
}

export interface MediaStoreShape {
  readonly backend: "s3" | "disk"
  readonly put: (key: string, bytes: Uint8Array, contentType: string) => Effect.Effect<void, MediaStoreError>
  readonly get: (key: string) => Effect.Effect<Option.Option<MediaObject>, MediaStoreError>
  readonly list: (prefix: string) => Effect.Effect<ReadonlyArray<string>, MediaStoreError>
  /** Deletes every object under `prefix`; returns how many. */
  readonly deletePrefix: (prefix: string) => Effect.Effect<number, MediaStoreError>
  readonly ping: Effect.Effect<void, MediaStoreError>
}

const safeKey = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/u

const fail = (operation: string, key: string) => (cause: unknown) =>
  new MediaStoreError({ operation, key, message: cause instanceof Error ? cause.message : String(cause) })

/** Listing and deleting take a prefix, which may end in "/" or be empty. */
const safePrefix = (prefix: string) =>
  prefix === "" || safeKey.test(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix)

const checked = <A>(operation: string, key: string, f: () => Promise<A>) =>
  (operation === "list" || operation === "delete" ? safePrefix(key) : safeKey.test(key))
    ? Effect.tryPromise({ try: f, catch: fail(operation, key) })
    : Effect.fail(new MediaStoreError({ operation, key, message: "invalid media key" }))

/** Local directory store; content types live in a sidecar file. */
export const makeDisk = (root: string): MediaStoreShape => {
  const file = (key: string) => Path.join(root, ...key.split("/"))
  const walk = async (dir: string): Promise<Array<string>> => {
    const entries = await Fs.readdir(dir, { withFileTypes: true }).catch(() => [])
    const out: Array<string> = []
    for (const e of entries) {
      const full = Path.join(dir, e.name)
      if (e.isDirectory()) out.push(...(await walk(full)))
      else if (!e.name.endsWith(".type")) out.push(Path.relative(root, full).split(Path.sep).join("/"))
    }
    return out
  }
  /** Keys under `prefix`, walking only the directory the prefix names (not the whole store). */
  const under = async (prefix: string) => {
    const dir = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : ""
    return (await walk(dir === "" ? root : file(dir))).filter((k) => k.startsWith(prefix))
  }
  return {
    backend: "disk",
    put: (key, bytes, contentType) =>
      checked("put", key, async () => {
        const target = file(key)
        await Fs.mkdir(Path.dirname(target), { recursive: true })
        await Fs.writeFile(`${target}.tmp`, bytes)
        await Fs.writeFile(`${target}.type`, contentType)
        await Fs.rename(`${target}.tmp`, target)
      }),
    get: (key) =>
      checked("get", key, async () => {
        try {
          const [bytes, type] = await Promise.all([Fs.readFile(file(key)), Fs.readFile(`${file(key)}.type`, "utf8")])
          return Option.some({ bytes: new Uint8Array(bytes), contentType: type })
        } catch (e: any) {
          // A key that names a directory (the prefix of other keys) holds no object either.
          if (e?.code === "ENOENT" || e?.code === "EISDIR") return Option.none()
          throw e
        }
      }),
    list: (prefix) => checked("list", prefix, async () => (await under(prefix)).sort()),
    deletePrefix: (prefix) =>
      checked("delete", prefix, async () => {
        const keys = await under(prefix)
        for (const k of keys)
          await Fs.rm(file(k), { force: true }).then(() => Fs.rm(`${file(k)}.type`, { force: true }))
        return keys.length
      }),
    ping: checked("ping", "ping", () => Fs.mkdir(root, { recursive: true }))
  }
}

/**
 * S3 (or S3-compatible) store. The SDK is loaded when the store is made (its first request waits for it): an engine
 * on local disk never needs it.
 */
export const makeS3 = (settings: S3Settings): MediaStoreShape => {
  const sdk = import("@aws-sdk/client-s3")
  const made = sdk.then(
    (s3) =>
      new s3.S3Client({
        region: settings.region,
        forcePathStyle: settings.forcePathStyle,
        ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
        ...(settings.accessKeyId === undefined || settings.secretAccessKey === undefined
          ? {}
          : {
              credentials: {
                accessKeyId: Redacted.value(settings.accessKeyId),
                secretAccessKey: Redacted.value(settings.secretAccessKey)
              }
            })
      })
  )
  // A failed load is reported by each request (see `checked`), never as an unhandled rejection.
  made.catch(() => undefined)
  /** The SDK (its commands) and the client, once loaded. */
  const s3 = async () => [await sdk, await made] as const
  const Bucket = settings.bucket
  const full = (key: string) => settings.prefix + key
  const listAll = async (prefix: string) => {
    const [{ ListObjectsV2Command }, client] = await s3()
    const keys: Array<string> = []
    let token: string | undefined
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket,
          Prefix: full(prefix),
          ...(token === undefined ? {} : { ContinuationToken: token })
        })
      )
      for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key.slice(settings.prefix.length))
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token !== undefined)
    return keys.sort()
  }
  return {
    backend: "s3",
    put: (key, bytes, contentType) =>
      checked("put", key, async () => {
        const [{ PutObjectCommand }, client] = await s3()
        return client.send(new PutObjectCommand({ Bucket, Key: full(key), Body: bytes, ContentType: contentType }))
      }).pipe(Effect.asVoid),
    get: (key) =>
      checked("get", key, async () => {
        const [{ GetObjectCommand }, client] = await s3()
        try {
          const out = await client.send(new GetObjectCommand({ Bucket, Key: full(key) }))
          const bytes = await out.Body!.transformToByteArray()
          return Option.some({ bytes, contentType: out.ContentType ?? "application/octet-stream" })
        } catch (e: any) {
          if (e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404) return Option.none()
          throw e
        }
      }),
    list: (prefix) => checked("list", prefix, () => listAll(prefix)),
    deletePrefix: (prefix) =>
      checked("delete", prefix, async () => {
        const [{ DeleteObjectsCommand }, client] = await s3()
        const keys = await listAll(prefix)
        for (let i = 0; i < keys.length; i += 1000) {
          await client.send(
            new DeleteObjectsCommand({
              Bucket,
              Delete: { Objects: keys.slice(i, i + 1000).map((k) => ({ Key: full(k) })), Quiet: true }
            })
          )
        }
        return keys.length
      }),
    ping: checked("ping", "ping", async () => {
      const [{ HeadBucketCommand }, client] = await s3()
      return client.send(new HeadBucketCommand({ Bucket }))
    }).pipe(Effect.asVoid)
  }
}

/** Media store (S3 or local disk). */
export class MediaStore extends Context.Service<MediaStore, MediaStoreShape>()("candor/MediaStore") {
  static readonly layer = Layer.effect(
    MediaStore,
    Effect.map(AppConfig, (config) => (config.s3 === undefined ? makeDisk(config.mediaDir) : makeS3(config.s3)))
  )
}
