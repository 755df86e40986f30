import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import sharp from "sharp"
import { ensureModels } from "../../src/inference/ModelBuilder.ts"
import { cli } from "../support/Cli.ts"
import { sample1, singleFaceJpeg } from "./fixtures.ts"

interface JsonFace {
  box: [number, number, number, number]
  score: number
  ear: { left: number; right: number; mean: number }
  eyesClosed: boolean
  emotion: Record<string, number> | null
}

/** `candor analyze <args>` through the command line, returning its exit code and what it printed. */
const analyze = (args: ReadonlyArray<string>) => cli(["analyze", ...args])

beforeAll(() => ensureModels())

describe("candor analyze", () => {
  it("finds the 3 faces of the demo photo and calls the laughing one happy (≥ 0.9)", async () => {
    const { code, stdout } = await analyze([sample1, "--json"])
    expect(code).toBe(0)
    const [report] = JSON.parse(stdout) as Array<{ file: string; width: number; faces: Array<JsonFace> }>
    expect(report!.file).toBe(sample1)
    expect(report!.faces).toHaveLength(3)
    const laughing = [...report!.faces].sort((a, b) => b.box[0] - a.box[0])[0]!
    expect(laughing.emotion!.happy).toBeGreaterThanOrEqual(0.9)
    for (const face of report!.faces) {
      expect(Object.keys(face.emotion!)).toEqual(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])
      expect(typeof face.ear.mean).toBe("number")
      expect(typeof face.eyesClosed).toBe("boolean")
    }
  })

  it("prints an aligned table, expands directories, writes a heat-map and reports bad files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "candor-analyze-"))
    await writeFile(join(dir, "face.jpg"), await singleFaceJpeg())
    await writeFile(join(dir, "broken.png"), "this is not a png")
    await writeFile(join(dir, "notes.txt"), "ignored: not an image name")
    const heatmap = join(dir, "heat.png")
    const missing = join(dir, "missing.jpg")
    const { code, stdout, stderr } = await analyze([dir, missing, "--heatmap", heatmap])
    expect(code).toBe(1)
    const lines = stdout.split("\n")
    expect(lines[0]).toMatch(/face\.jpg +640×480 +1 face/)
    const header = lines[1]!
    const row = lines[2]!
    expect(header).toMatch(/#.*box.*score.*EAR.*eyes.*angry.*disgust.*fear.*happy.*sad.*surprise.*neutral/)
    // columns line up: every header label ends where its values end
    expect(row.length).toBe(header.length)
    expect(row).toMatch(/happy/)
    expect(stderr).toMatch(/missing\.jpg: no such file or directory/)
    expect(stderr).toMatch(/broken\.png: not an image/)
    expect(stderr).not.toMatch(/notes\.txt/)
    const meta = await sharp(heatmap).metadata()
    expect(meta.format).toBe("png")
  })

  it("skips emotions with --no-affect", async () => {
    const dir = await mkdtemp(join(tmpdir(), "candor-analyze-"))
    const file = join(dir, "face.jpg")
    await writeFile(file, await singleFaceJpeg())
    const { code, stdout } = await analyze([file, "--json", "--no-affect"])
    expect(code).toBe(0)
    const [report] = JSON.parse(stdout) as Array<{ faces: Array<JsonFace> }>
    expect(report!.faces[0]!.emotion).toBeNull()
  })

  it("explains usage errors", async () => {
    expect((await analyze([])).code).toBe(2)
    const { code, stderr } = await analyze([sample1, "--bogus"])
    expect(code).toBe(2)
    expect(stderr).toMatch(/Unrecognized flag: --bogus/)
    const conflict = await analyze([sample1, "--heatmap", "heat.png", "--no-affect"])
    expect(conflict.code).toBe(2)
    expect(conflict.stderr).toMatch(/--heatmap needs emotion analysis/)
  })
})
