// Worker threads start as plain JavaScript; registering tsx first lets the embedded database's thread stay
// TypeScript, as the CLI runs (no build step).
import { register } from "tsx/esm/api"

register()
await import("./pgliteWorker.ts")
