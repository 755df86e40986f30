/**
 * Which face models analysed the video, for a report's model versions: the required models of
 * `models/manifest.json` with the sha256 of each converted file, and the package the weights came from.
 */
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ModelVersions } from "../../schemas/Report.ts"
import { readManifest } from "../inference/ModelManifest.ts"

export type VisionInfo = NonNullable<ModelVersions["vision"]>

/** `<repo>/models/manifest.json`. */
export const defaultManifestPath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../models/manifest.json"
)

/** The manifest's required models, or null when it is missing or unreadable (the report then says nothing). */
export const readVisionInfo = (file: string = defaultManifestPath): Effect.Effect<VisionInfo | null> =>
  readManifest(file).pipe(
    Effect.map((manifest) =>
      manifest === undefined
        ? null
        : {
            source: `${manifest.source.package}@${manifest.source.version}`,
            converter: manifest.converter,
            models: Object.entries(manifest.models)
              .filter(([, m]) => !m.optional)
              .map(([name, m]) => ({ name, file: m.file, sha256: m.sha256 }))
              .sort((a, b) => a.name.localeCompare(b.name))
          }
    ),
    Effect.catch((e) => Effect.as(Effect.logWarning(`report model versions: ${e.message}`), null))
  )
