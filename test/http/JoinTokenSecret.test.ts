import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadOrCreateSecret } from "../../src/http/JoinTokens.ts"

const withDir = (f: (dir: string) => void) => {
  const root = mkdtempSync(join(tmpdir(), "candor-secret-"))
  try {
    f(root)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

describe("join token secret without TOKEN_SECRET", () => {
  it("is created once, private, and the same on every later start", () =>
    withDir((root) => {
      const dir = join(root, "data")
      const first = loadOrCreateSecret(dir)
      expect(first.length).toBe(32)
      expect(readdirSync(dir)).toEqual(["token-secret"])
      expect(statSync(join(dir, "token-secret")).mode & 0o777).toBe(0o600)
      expect(Buffer.from(loadOrCreateSecret(dir))).toEqual(Buffer.from(first))
    }))

  it("takes the secret another process already put in place", () =>
    withDir((dir) => {
      const other = Buffer.alloc(32, 7)
      writeFileSync(join(dir, "token-secret"), other.toString("base64url"))
      expect(Buffer.from(loadOrCreateSecret(dir))).toEqual(other)
    }))

  it("refuses a kept secret that is too short, naming the file", () =>
    withDir((dir) => {
      writeFileSync(join(dir, "token-secret"), "c2hvcnQ")
      expect(() => loadOrCreateSecret(dir)).toThrow(/token-secret: expected a secret of at least 32 bytes/)
    }))
})
