// Piscina starts workers as plain JavaScript. Registering tsx first lets the worker itself stay TypeScript,
// with no build step, exactly as the CLI runs.
import { register } from "tsx/esm/api"

register()
const worker = await import("./worker.ts")

export default worker.default
