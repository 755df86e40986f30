/** Face photos for session tests: the demo images of @vladmandic/face-api, read in place and resized with sharp. */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import sharp from "sharp"

const demoDir = join(dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")), "demo")

/** 640×480 JPEGs of the demo photos (faces of different people, some with several faces). */
export const faceFrames = async (): Promise<Array<Uint8Array>> => {
  const out: Array<Uint8Array> = []
  for (const name of ["sample1.jpg", "sample2.jpg", "sample3.jpg", "sample4.jpg", "sample5.jpg", "sample6.jpg"]) {
    out.push(
      new Uint8Array(
        await sharp(join(demoDir, name)).resize(640, 480, { fit: "cover" }).jpeg({ quality: 80 }).toBuffer()
      )
    )
  }
  return out
}

/** One face, large: the laughing person on the right of sample1. */
export const singleFace = async (): Promise<Uint8Array> =>
  new Uint8Array(
    await sharp(join(demoDir, "sample1.jpg"))
      .extract({ left: 1120, top: 0, width: 800, height: 600 })
      .resize(640, 480)
      .jpeg({ quality: 85 })
      .toBuffer()
  )
