/**
 * The command line, declared once: every verb with its flags, arguments and help text, parsed by Effect's CLI
 * module. A verb loads what it runs only when it runs (the engine, the models and the bench pull in native
 * modules), so `--help` and a usage error answer at once.
 */
import { Effect, Option } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { MODEL_NAMES, type ModelName } from "../inference/converter/Recipes.ts"
import { VERSION } from "../Version.ts"
import { bench } from "./BenchVerb.ts"
import { key, tenant } from "./TenancyVerbs.ts"
import { exitCode, type VerbFailed } from "./Verb.ts"
import { isVideoPath, videoExtensions } from "../video/VideoPaths.ts"

const serve = Command.make("serve", {}, () => exitCode(async () => (await import("./Serve.ts")).serve())).pipe(
  Command.withAlias("start"),
  Command.withShortDescription("run the engine (HTTP + WebSocket) on HOST:PORT (default 127.0.0.1:8080)"),
  Command.withDescription(
    "Runs the engine (HTTP + WebSocket) on HOST:PORT (default 127.0.0.1:8080) until SIGINT or SIGTERM, then shuts " +
      "down gracefully. Builds models/*.onnx first if they are missing. Configuration comes from environment " +
      "variables (see README.md)."
  )
)

/** A switch, off unless given; `--no-affect` is itself one, and `--no-json` would mean nothing. */
const toggle = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withoutNegation, Flag.withDefault(false), Flag.withDescription(description))

const modelList = (list: string): Option.Option<ReadonlyArray<ModelName>> => {
  const names = list.split(",")
  return names.every((n): n is ModelName => (MODEL_NAMES as ReadonlyArray<string>).includes(n))
    ? Option.some(names)
    : Option.none()
}

const models = Command.make(
  "models",
  {
    force: toggle("force", "rebuild even if the files match the manifest"),
    record: toggle("record", "accept changed inputs/outputs and rewrite their hashes in the manifest"),
    out: Flag.String("out").pipe(
      Flag.withMetavar("DIR"),
      Flag.optional,
      Flag.withDescription("write the .onnx files here (default models/)")
    ),
    only: Flag.String("only").pipe(
      Flag.withMetavar("LIST"),
      Flag.filterMap(modelList, () => `model names among ${MODEL_NAMES.join(", ")}, separated by commas`),
      Flag.optional,
      Flag.withDescription(`build only these models (${MODEL_NAMES.join(",")})`)
    )
  },
  ({ force, record, out, only }) =>
    exitCode(async () =>
      (await import("../inference/ModelBuilder.ts")).modelsCommand({
        force,
        record,
        outDir: Option.getOrUndefined(out),
        only: Option.getOrUndefined(only)
      })
    )
).pipe(
  Command.withShortDescription("build models/*.onnx from the pinned weights and verify them"),
  Command.withDescription(
    "Converts the face models from @vladmandic/human to ONNX and checks them against models/manifest.json."
  )
)

const analyze = Command.make(
  "analyze",
  {
    paths: Argument.String("image|dir").pipe(
      Argument.withDescription("an image, a directory of images (not recursive), or one video"),
      Argument.variadic({ min: 1 })
    ),
    json: toggle("json", "print JSON instead of a table"),
    heatmap: Flag.String("heatmap").pipe(
      Flag.withMetavar("FILE"),
      Flag.optional,
      Flag.withDescription("write the first face's class-activation heat-map (top emotion) as a PNG")
    ),
    noAffect: toggle("no-affect", "skip emotion analysis")
  },
  ({ paths, json, heatmap, noAffect }) =>
    exitCode(async () =>
      isVideoPath(paths[0]!)
        ? (await import("../video/AnalyzeVideoCommand.ts")).analyzeVideoCommand({
            file: paths[0]!,
            json,
            affect: !noAffect
          })
        : (await import("../inference/Analyze.ts")).analyzeCommand({
            paths,
            json,
            heatmap: Option.getOrUndefined(heatmap),
            affect: !noAffect
          })
    )
).pipe(
  Command.validate(({ paths, heatmap, noAffect }) => {
    if (Option.isSome(heatmap) && noAffect)
      return Effect.fail(
        new CliError.ValidationError({ message: "--heatmap needs emotion analysis; drop --no-affect" })
      )
    if (paths.some(isVideoPath) && paths.length > 1)
      return Effect.fail(new CliError.ValidationError({ message: "analyze one video at a time, without images" }))
    if (paths.some(isVideoPath) && Option.isSome(heatmap))
      return Effect.fail(new CliError.ValidationError({ message: "--heatmap is for images, not videos" }))
    return Effect.void
  }),
  Command.withShortDescription("faces, eye aspect ratio, blinks and emotions per image, or over one video"),
  Command.withDescription(
    "Detects faces and reports box, score, eye aspect ratio, eyes closed and the 7 emotion probabilities per " +
      `image. A video (${videoExtensions.join(", ")}) is analysed like an uploaded one: frames at VIDEO_ANALYSIS_FPS ` +
      "through the same models and scorers, a progress bar on stderr, then its summary (face presence, multiple " +
      "faces, expressions, blinks, per-second timeline with --json)."
  )
)

const migrate = Command.make("migrate", {}, () => exitCode(async () => (await import("./Operator.ts")).migrate())).pipe(
  Command.withDescription("apply database migrations (the server also applies them at start)")
)

const seed = Command.make(
  "seed",
  {
    json: toggle("json", "print one JSON object instead of lines")
  },
  ({ json }) => exitCode(async () => (await import("./Operator.ts")).seed({ json }))
).pipe(Command.withDescription("create a demo tenant, API key, interview and candidate token"))

const backup = Command.make(
  "backup",
  {
    out: Flag.String("out").pipe(
      Flag.withMetavar("FILE"),
      Flag.optional,
      Flag.withDescription("write the SQL here instead of stdout")
    )
  },
  ({ out }) => exitCode(async () => (await import("./Operator.ts")).backup({ out: Option.getOrUndefined(out) }))
).pipe(Command.withDescription("export every table as SQL (pg_dump plain format, data only)"))

const userInvite = Command.make(
  "invite",
  {
    tenant: Flag.String("tenant").pipe(Flag.withMetavar("ID"), Flag.withDescription("the tenant the person joins")),
    email: Flag.String("email").pipe(Flag.withMetavar("EMAIL"), Flag.withDescription("the person's email address")),
    role: Flag.Literals("role", ["admin", "recruiter", "reader"]).pipe(
      Flag.withDescription("admin (manages users and keys), recruiter (runs interviews) or reader (reads)")
    ),
    json: toggle("json", "print one JSON object instead of lines")
  },
  ({ tenant, email, role, json }) =>
    exitCode(async () => (await import("./Operator.ts")).userInvite({ tenant, email, role, json }))
).pipe(
  Command.withDescription(
    "invite a person into a tenant: prints a one-time link (and its token) to set their password; no mail is sent"
  )
)

const user = Command.make("user").pipe(
  Command.withDescription("people's accounts (people sign in as themselves; API keys are for integrations)"),
  Command.withSubcommands([userInvite])
)

/** `candor help [verb]` is `candor [verb] --help`, for those who type it that way. */
const help = Command.make(
  "help",
  { verb: Argument.String("verb").pipe(Argument.withDescription("the verb to explain"), Argument.optional) },
  // Annotated: the verb runs the command line it belongs to, which TypeScript cannot infer through.
  ({ verb }): Effect.Effect<void, CliError.CliError | VerbFailed, Command.Environment> =>
    Command.runWith(candor, { version: VERSION })([...Option.toArray(verb), "--help"])
).pipe(Command.withDescription("this text, or a verb's"))

export const candor = Command.make("candor").pipe(
  Command.withDescription(
    `candor ${VERSION}, real-time interview analysis engine. Configuration comes from environment variables; ` +
      "see README.md."
  ),
  Command.withSubcommands([serve, models, analyze, bench, migrate, seed, tenant, key, user, backup, help])
)
