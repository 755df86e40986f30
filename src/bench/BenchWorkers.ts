/** Starting the bench's worker threads: each runs one TypeScript module of this folder through `tsWorker.mjs`. */
import { Worker } from "node:worker_threads"

const entry = new URL("./tsWorker.mjs", import.meta.url)

export const startWorker = (module: string, data: Record<string, unknown>, env?: NodeJS.ProcessEnv): Worker =>
  new Worker(entry, {
    workerData: { ...data, module: new URL(module, import.meta.url).href },
    ...(env === undefined ? {} : { env })
  })

/** The first message a worker posts, or its error / early exit as a rejection. */
export const nextMessage = <A>(worker: Worker): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const cleanup = () => {
      worker.off("message", onMessage)
      worker.off("error", onError)
      worker.off("exit", onExit)
    }
    const onMessage = (m: A) => {
      cleanup()
      resolve(m)
    }
    const onError = (e: Error) => {
      cleanup()
      reject(e)
    }
    const onExit = (code: number) => {
      cleanup()
      reject(new Error(`worker exited with code ${code} before answering`))
    }
    worker.on("message", onMessage)
    worker.on("error", onError)
    worker.on("exit", onExit)
  })
