/**
 * libjpeg-turbo's TurboJPEG 3 API, called directly (koffi FFI) on the calling thread. The library is the one
 * @julusian/jpeg-turbo ships prebuilt for Linux (x64, arm64, arm; glibc and musl); that package's own binding is not used, because it
 * hard-wires the fast integer IDCT, whose pixels differ from sharp's by up to 4 levels and move the eye aspect
 * ratio by up to 0.03 (measured on the face-api demo photos). With the accurate IDCT (TurboJPEG's default) the
 * pixels are the same as sharp's, bit for bit: libvips decodes JPEG with the same libjpeg code.
 */
import { createRequire } from "node:module"
import { arch, platform } from "node:os"
import { dirname, join } from "node:path"

const TJINIT_DECOMPRESS = 1
const TJPARAM_JPEGWIDTH = 5
const TJPARAM_JPEGHEIGHT = 6
const TJPARAM_FASTDCT = 10
const TJPARAM_MAXPIXELS = 24
const TJPF_RGB = 0

interface Api {
  readonly handle: unknown
  readonly decompressHeader: (handle: unknown, jpeg: Uint8Array, size: number) => number
  readonly get: (handle: unknown, param: number) => number
  readonly set: (handle: unknown, param: number, value: number) => number
  readonly decompress8: (
    handle: unknown,
    jpeg: Uint8Array,
    size: number,
    dst: Uint8Array,
    pitch: number,
    format: number
  ) => number
  readonly errorStr: (handle: unknown) => string
}

const libraryFile = (): string => {
  const require = createRequire(import.meta.url)
  const root = dirname(require.resolve("@julusian/jpeg-turbo/package.json"))
  const os = platform()
  const report = os === "linux" ? (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }) : {}
  const libc = os === "linux" && report.header?.glibcVersionRuntime === undefined ? "-musl" : ""
  // Only its Linux builds ship the library as a file of its own (elsewhere it is linked into the addon).
  return join(root, "prebuilds", `jpeg-turbo-${os}-${arch()}${libc}`, "libturbojpeg.so.0")
}

let api: Api | null | undefined
/** Why the library could not be loaded, when it could not. */
let loadError = "libjpeg-turbo not available"

/** The library, loaded on first use; null where it cannot be loaded (then sharp decodes everything). */
const load = (): Api | null => {
  if (api !== undefined) return api
  try {
    const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi")
    const lib = koffi.load(libraryFile())
    const init = lib.func("void *tj3Init(int initType)")
    const handle = init(TJINIT_DECOMPRESS)
    if (handle === null) throw new Error("tj3Init failed")
    api = {
      handle,
      decompressHeader: lib.func("int tj3DecompressHeader(void *handle, const uint8_t *jpegBuf, size_t jpegSize)"),
      get: lib.func("int tj3Get(void *handle, int param)"),
      set: lib.func("int tj3Set(void *handle, int param, int value)"),
      decompress8: lib.func(
        "int tj3Decompress8(void *handle, const uint8_t *jpegBuf, size_t jpegSize, _Out_ uint8_t *dstBuf, int pitch, int pixelFormat)"
      ),
      errorStr: lib.func("const char *tj3GetErrorStr(void *handle)")
    }
    // The accurate IDCT is TurboJPEG's default; say so, since the pixels must match sharp's.
    api.set(handle, TJPARAM_FASTDCT, 0)
  } catch (error) {
    api = null
    loadError = error instanceof Error ? error.message : String(error)
  }
  return api
}

/** Whether the library can be used here (it loads on the first call). */
export const turboJpegAvailable = (): boolean => load() !== null

/**
 * Decodes a JPEG to interleaved RGB at full size into `allocate(bytes)` (exactly that many bytes); undefined when libjpeg-turbo refuses it (corrupt data, more
 * than `maxPixels` pixels, or any warning: the caller then leaves the image to sharp, which has the last word).
 */
export const decodeJpegRgb = (
  jpeg: Uint8Array,
  maxPixels: number,
  allocate: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes)
): { data: Uint8Array; width: number; height: number } | undefined => {
  const tj = load()
  if (tj === null) return undefined
  if (tj.set(tj.handle, TJPARAM_MAXPIXELS, maxPixels) !== 0) return undefined
  if (tj.decompressHeader(tj.handle, jpeg, jpeg.byteLength) !== 0) return undefined
  const width = tj.get(tj.handle, TJPARAM_JPEGWIDTH)
  const height = tj.get(tj.handle, TJPARAM_JPEGHEIGHT)
  if (width <= 0 || height <= 0 || width * height > maxPixels) return undefined
  const data = allocate(width * height * 3)
  if (tj.decompress8(tj.handle, jpeg, jpeg.byteLength, data, width * 3, TJPF_RGB) !== 0) return undefined
  return { data, width, height }
}

/** The library's message for the last failed call (diagnostics only). */
export const lastTurboJpegError = (): string => {
  const tj = load()
  return tj === null ? loadError : tj.errorStr(tj.handle)
}
