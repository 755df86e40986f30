/**
 * Schema migrations. `npm start` and `candor migrate` run exactly this list, on Postgres and on PGlite alike.
 */
import { Effect } from "effect"
import * as Migrator from "effect/sql/Migrator"
import initial from "./migrations/0001_initial.ts"
import liveSessions from "./migrations/0002_live_sessions.ts"
import scoringJobs from "./migrations/0003_scoring_jobs.ts"
import tenancy from "./migrations/0004_tenancy.ts"
import retentionClaims from "./migrations/0005_retention_claims.ts"
import users from "./migrations/0006_users.ts"
import consoleSessions from "./migrations/0007_console.ts"
import jobs from "./migrations/0008_jobs.ts"
import webhooks from "./migrations/0009_webhooks.ts"
import videoAnalyses from "./migrations/0010_video_analyses.ts"
import recordings from "./migrations/0011_recordings.ts"

const loader = Migrator.fromRecord({
  "0001_initial": initial,
  "0002_live_sessions": liveSessions,
  "0003_scoring_jobs": scoringJobs,
  "0004_tenancy": tenancy,
  "0005_retention_claims": retentionClaims,
  "0006_users": users,
  "0007_console": consoleSessions,
  "0008_jobs": jobs,
  "0009_webhooks": webhooks,
  "0010_video_analyses": videoAnalyses,
  "0011_recordings": recordings
})

const migrator = Migrator.make({})

/** Applies pending migrations; returns those applied now as `[id, name]`. */
export const runMigrations = migrator({ loader, table: "candor_migrations" }).pipe(Effect.withSpan("Migrations.run"))

/** Every migration this build knows, in order. */
export const knownMigrations = Effect.map(loader, (list) => list.map(([id, name]) => ({ id, name })))
