#!/usr/bin/env node
// Candor ships TypeScript sources; tsx compiles them on load so that `npm ci && npm start` needs no build step.
import { register } from "tsx/esm/api"

register()
await import("../src/cli.ts")
