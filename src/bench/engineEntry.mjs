// Child-process entry of a bench engine with session settings of the bench's choosing (`--compare`).
// Registers tsx like the CLI does, then runs BenchEngine.ts.
import { register } from "tsx/esm/api"

register()
await import("./BenchEngine.ts")
