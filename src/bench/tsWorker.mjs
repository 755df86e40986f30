// Worker threads start as plain JavaScript; registering tsx first lets each bench worker stay TypeScript, as the
// CLI runs (no build step). `workerData.module` names the TypeScript module that does the work.
import { workerData } from "node:worker_threads"
import { register } from "tsx/esm/api"

register()
await import(workerData.module)
