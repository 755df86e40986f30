/** A real S3-compatible server (s3rver) on loopback with the `candor-media` bucket, and the engine settings for it. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import S3rver from "s3rver"

export interface S3Server {
  readonly endpoint: string
  /** Engine settings that put media on this server, under `prefix`. */
  readonly env: (prefix: string) => Record<string, string>
  readonly close: () => Promise<void>
}

export const startS3Server = async (): Promise<S3Server> => {
  const directory = mkdtempSync(join(tmpdir(), "candor-s3-"))
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory,
    configureBuckets: [{ name: "candor-media", configs: [] }]
  })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    env: (prefix) => ({
      S3_BUCKET: "candor-media",
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: "true",
      S3_ACCESS_KEY_ID: "S3RVER",
      S3_SECRET_ACCESS_KEY: "S3RVER",
      S3_PREFIX: prefix
    }),
    close: async () => {
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    }
  }
}
