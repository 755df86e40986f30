// Child-process entry of a `candor bench --cluster` placement runner: registers tsx like the CLI does, then runs PlacementNode.ts.
import { register } from "tsx/esm/api"

register()
await import("./PlacementNode.ts")
