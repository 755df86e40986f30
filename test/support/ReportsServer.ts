/**
 * The whole engine with the answers-to-report feature on explicit settings (offline scoring unless told, fast
 * polling), on a free port, for the report tests. Answers over HTTP go through the interview's session actor, so
 * the live layer (one inference worker) is part of it.
 */
import { Layer } from "effect"
import * as SessionConfig from "../../src/actors/SessionConfig.ts"
import { type AnswersConfig, makeAnswersConfig } from "../../src/answers/AnswersConfig.ts"
import { AppConfig } from "../../src/config.ts"
import { serverLayer } from "../../src/main.ts"
import { type ReportsOptions, reportsLayerWith } from "../../src/reports/Reports.ts"
import { startLayer, type TestServer } from "./TestServer.ts"

/** Offline scoring (no keys) unless `answers` says otherwise. */
export const startReportsServer = (
  env: Record<string, string>,
  answers: AnswersConfig = makeAnswersConfig({ apiKeys: [] }),
  options: ReportsOptions = {}
): Promise<TestServer> =>
  startLayer(
    serverLayer(
      { port: 0, host: "127.0.0.1" },
      reportsLayerWith(answers, { vision: null, ...options, scoring: { pollIntervalMs: 50, ...options.scoring } })
    ).pipe(
      Layer.provide(SessionConfig.layer({ pool: { workers: 1 } })),
      Layer.provideMerge(
        AppConfig.layerFromRecord({ CANDOR_DATA_DIR: ".tmp/test-data", TOKEN_SECRET: "r".repeat(40), ...env })
      )
    ),
    "Report test tenant"
  )
