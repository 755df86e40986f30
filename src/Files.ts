/** File helpers shared by the model builder and the embedded database. */
import { existsSync, promises as fs } from "node:fs"
import * as path from "node:path"

/** Writes `bytes` to `file` through a temporary sibling and a rename, so readers never see half a file. */
export const writeFileAtomic = async (file: string, bytes: Uint8Array | string): Promise<void> => {
  await fs.mkdir(path.dirname(file), { recursive: true })
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  try {
    await fs.writeFile(temp, bytes)
    await fs.rename(temp, file)
  } catch (cause) {
    await fs.rm(temp, { force: true })
    throw cause
  }
}

/** The installed package `name`, found by walking up from `from` as Node's resolver would, or undefined. */
export const findPackageDir = (name: string, from: string): string | undefined => {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name)
    if (existsSync(path.join(candidate, "package.json"))) return candidate
    if (path.dirname(dir) === dir) return undefined
  }
}
