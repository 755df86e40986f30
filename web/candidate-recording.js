// Recorded answers on the candidate page (interviews in recorded mode): each answer is recorded as video with sound
// from the camera's own stream (the frames keep streaming for the live analysis meanwhile), then uploaded in parts
// to the interview's recordings route. Every part is sent at the offset the server holds; after a dropped network
// the upload asks where it stands and resumes from there, so nothing is sent twice and nothing is lost.

const TYPES = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm", "video/mp4"]
const PART_BYTES = 512 * 1024
const RETRY_FIRST_MS = 500
const RETRY_MAX_MS = 5_000

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves at the next `online` event or after `ms`, whichever comes first. */
const waitForNetwork = (ms) =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      window.removeEventListener("online", done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    window.addEventListener("online", done)
  })

class UploadRefused extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/**
 * The recorder of one page. `options`: `box` (where its controls go), `stream()` (the camera's stream, video and
 * sound), `api(path)`, `auth()`, `limits` ({maxBytes, chunkBytes, transcribed}), `say(text)`, `onStored(questionId,
 * outcome)` once a recording is uploaded.
 */
export const makeAnswerRecorder = (options) => {
  const { box, api, auth, limits, say } = options
  const mimeType =
    typeof MediaRecorder === "undefined" ? undefined : TYPES.find((t) => MediaRecorder.isTypeSupported(t))

  const button = document.createElement("button")
  button.type = "button"
  button.id = "record-video"
  button.dataset.testid = "record-video"
  button.textContent = "Record your answer"
  const progress = document.createElement("progress")
  progress.id = "upload-progress"
  progress.dataset.testid = "upload-progress"
  progress.max = 100
  progress.value = 0
  progress.hidden = true
  const label = document.createElement("label")
  label.htmlFor = "upload-progress"
  label.className = "upload-label"
  label.dataset.testid = "upload-label"
  label.hidden = true
  const note = document.createElement("p")
  note.className = "muted"
  note.textContent = limits.transcribed
    ? "Your recorded answer is transcribed and saved as your answer. You can also type it instead."
    : "Your recording is kept for the reviewer. Please also type your answer below."
  box.replaceChildren(button, label, progress, note)
  box.hidden = false

  const state = {
    question: null,
    media: null,
    chunks: [],
    uploading: false,
    recorded: new Set(),
    startedAt: 0,
    timer: 0
  }

  const render = () => {
    const q = state.question
    const recording = state.media !== null
    button.classList.toggle("recording", recording)
    button.textContent = recording
      ? "Stop recording"
      : state.uploading
        ? "Uploading…"
        : q !== null && state.recorded.has(q.questionId)
          ? "Answer recorded"
          : "Record your answer"
    button.disabled =
      mimeType === undefined || state.uploading || (!recording && (q === null || state.recorded.has(q.questionId)))
  }

  const showProgress = (sent, total) => {
    const percent = total === 0 ? 0 : Math.floor((sent / total) * 100)
    progress.hidden = false
    label.hidden = false
    progress.value = percent
    label.textContent = `Uploading your recording: ${percent} %`
  }

  const begin = () => {
    const q = state.question
    const stream = options.stream()
    if (q === null || stream === null) return
    let media
    try {
      media = new MediaRecorder(stream, { mimeType })
    } catch {
      return say("Your browser cannot record video here. Please type your answer instead.")
    }
    state.chunks = []
    media.addEventListener("dataavailable", (e) => {
      if (e.data.size > 0) state.chunks.push(e.data)
    })
    media.addEventListener("stop", () => {
      clearInterval(state.timer)
      state.media = null
      const blob = new Blob(state.chunks, { type: media.mimeType || mimeType })
      state.chunks = []
      if (media.discard === true) return render()
      upload(q, blob)
    })
    media.start(1000)
    state.media = media
    state.startedAt = Date.now()
    clearInterval(state.timer)
    state.timer = setInterval(() => {
      label.hidden = false
      label.textContent = `Recording: ${Math.round((Date.now() - state.startedAt) / 1000)} s`
    }, 500)
    label.hidden = false
    label.textContent = "Recording: 0 s"
    progress.hidden = true
    render()
    say("Recording your answer, with sound. Press “Stop recording” when you are done.")
  }

  const stop = (discard = false) => {
    if (state.media === null) return
    state.media.discard = discard
    state.media.stop()
  }

  /** One request with retries across a dropped network or a busy server; refusals are thrown. */
  const send = async (path, init) => {
    let wait = RETRY_FIRST_MS
    for (;;) {
      let res
      try {
        res = await fetch(api(path), { ...init, headers: { ...auth(), ...(init.headers ?? {}) } })
      } catch {
        label.textContent = "The connection was lost. The upload resumes when it is back…"
        say("The connection was lost. Your recording is kept here and its upload resumes when the connection is back.")
        await waitForNetwork(wait)
        wait = Math.min(RETRY_MAX_MS, wait * 2)
        continue
      }
      if (res.status >= 500 || res.status === 408 || res.status === 429) {
        await sleep(wait)
        wait = Math.min(RETRY_MAX_MS, wait * 2)
        continue
      }
      const body = await res.json().catch(() => null)
      return { status: res.status, body }
    }
  }

  const uploadBytes = async (q, blob) => {
    const type = blob.type.split(";")[0] || "video/webm"
    const query = `questionId=${encodeURIComponent(q.questionId)}&contentType=${encodeURIComponent(type)}&size=${blob.size}`
    const started = await send(`/recordings?${query}`, { method: "POST" })
    if (started.status !== 201)
      throw new UploadRefused(started.status, started.body?.error?.code, started.body?.error?.message)
    const { uploadId } = started.body
    const part = Math.min(PART_BYTES, started.body.chunkBytes ?? limits.chunkBytes)
    let offset = 0
    showProgress(0, blob.size)
    while (offset < blob.size) {
      const res = await send(`/recordings/${encodeURIComponent(uploadId)}`, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream", "upload-offset": String(offset) },
        body: blob.slice(offset, offset + part)
      })
      // 409: the server holds another offset (a part that arrived although its answer was lost): go on from there.
      if (res.status === 200 || (res.status === 409 && typeof res.body?.offset === "number")) offset = res.body.offset
      else throw new UploadRefused(res.status, res.body?.error?.code, res.body?.error?.message)
      showProgress(offset, blob.size)
    }
    const done = await send(`/recordings/${encodeURIComponent(uploadId)}/complete`, { method: "POST" })
    if (done.status !== 200) throw new UploadRefused(done.status, done.body?.error?.code, done.body?.error?.message)
    return done.body
  }

  const upload = async (q, blob) => {
    if (blob.size === 0) {
      render()
      return say("Nothing was recorded. Please try again, or type your answer.")
    }
    if (blob.size > limits.maxBytes) {
      render()
      return say("The recording is too long to send. Please record a shorter answer, or type it.")
    }
    state.uploading = true
    render()
    say("Uploading your recording…")
    try {
      const result = await uploadBytes(q, blob)
      state.recorded.add(q.questionId)
      label.textContent = "Your recording is uploaded."
      options.onStored(q.questionId, result)
    } catch (e) {
      progress.hidden = true
      label.textContent = ""
      label.hidden = true
      if (e.code === "already_recorded") state.recorded.add(q.questionId)
      say(
        e.status === 413
          ? "The recording is too large to keep. Please record a shorter answer, or type it."
          : `Your recording could not be saved (${e.message ?? e.status}). Please type your answer instead.`
      )
    } finally {
      state.uploading = false
      render()
    }
  }

  button.addEventListener("click", () => (state.media === null ? begin() : stop(false)))

  return {
    available: mimeType !== undefined,
    /** A new current question: the controls follow it. */
    show(q) {
      if (state.question?.questionId !== q.questionId) {
        stop(true)
        if (!state.uploading) {
          progress.hidden = true
          label.hidden = true
        }
      }
      state.question = q
      render()
    },
    /** Why the candidate cannot move on yet (a recording running or uploading), or null. */
    busy() {
      if (state.media !== null) return "You are still recording. Press “Stop recording” first."
      if (state.uploading) return "Your recording is still uploading. Please wait until it is done."
      return null
    },
    stop: () => stop(true)
  }
}
