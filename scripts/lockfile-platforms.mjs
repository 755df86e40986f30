#!/usr/bin/env node
// npm 11 leaves platform-specific optional dependencies of other platforms out of package-lock.json, and then
// `npm ci` refuses the lock ("Missing: … from lock file"). This adds their records from the registry so that a
// plain `npm ci` works on every platform. Some publishers declare platform packages they never published (the
// uWebSockets.js republish ships linux-x64 only): those get a record with the os/cpu their name states, so npm
// skips them on every other platform. Run it after `npm install` changes the lock: `npm run lockfile`.
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"

const file = new URL("../package-lock.json", import.meta.url)
const lock = JSON.parse(Fs.readFileSync(file, "utf8"))
const packages = lock.packages
let added = 0
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${path === "" ? "" : `${path}/`}node_modules/${name}`
    if (packages[nested] !== undefined || packages[`node_modules/${name}`] !== undefined) continue
    let info
    try {
      const meta = JSON.parse(
        execFileSync(
          "npm",
          ["view", `${name}@${range}`, "--json", "version", "dist", "os", "cpu", "libc", "engines", "license"],
          {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"]
          }
        )
      )
      info = Array.isArray(meta) ? meta[meta.length - 1] : meta
    } catch {
      const m = /(darwin|linux|win32)-(x64|arm64|arm)(?:-(\d+))?$/.exec(name)
      if (m === null) throw new Error(`${name}@${range} is not in the registry and its name states no platform`)
      info = {
        version: range,
        os: [m[1]],
        cpu: [m[2]],
        ...(m[3] ? { engines: { node: `>=${m[3]}.0.0 <${Number(m[3]) + 1}.0.0` } } : {})
      }
      console.log(`${name}@${range}: not published; recorded for ${m[1]}/${m[2]} only`)
    }
    packages[`node_modules/${name}`] = {
      version: info.version,
      ...(info.dist ? { integrity: info.dist.integrity } : {}),
      ...(info.cpu ? { cpu: info.cpu } : {}),
      ...(info.libc ? { libc: [].concat(info.libc)[0] } : {}),
      ...(info.license ? { license: info.license } : {}),
      optional: true,
      ...(info.os ? { os: info.os } : {}),
      ...(info.engines ? { engines: info.engines } : {})
    }
    added++
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1))
)
Fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`package-lock.json: ${added} platform package record(s) added`)
