// Candidate page: notice and consent, camera pre-check, then one question at a time over the interview's socket
// (protocol: schemas/Protocol.ts). Plain browser module, no build step; the page's CSP forbids inline code and styles.
// Interviews in recorded mode also record each answer as video with sound (candidate-recording.js).

import { makeAnswerRecorder } from "./candidate-recording.js"

const FRAME_WIDTH = 640
const FRAME_HEIGHT = 480
const JPEG_QUALITY = 0.8
/** The grey copy of each frame the light is measured on. */
const SMALL_WIDTH = 64
const SMALL_HEIGHT = 48
const MAX_IN_FLIGHT = 2
const MIN_BRIGHTNESS = 60
const PRECHECK_PASSES = 3
const PRECHECK_WARN_MS = 8_000
const SLOW_DOWN_MS = 10_000
const BACKOFF_FIRST_MS = 500
const BACKOFF_MAX_MS = 5_000
const CLOSE = { normal: 1000, replaced: 4001, erased: 4004 }

const $ = (id) => document.getElementById(id)

const ui = {
  status: $("status"),
  organisation: $("organisation"),
  views: { error: $("error-view"), notice: $("notice-view"), interview: $("interview-view"), done: $("done-view") },
  errorTitle: $("error-title"),
  errorText: $("error-text"),
  errorHelp: $("error-help"),
  retry: $("retry"),
  noticeText: $("notice-text"),
  noticeVersion: $("notice-version"),
  signals: $("signals"),
  retention: $("retention"),
  contact: $("contact"),
  consentForm: $("consent-form"),
  consent: $("consent"),
  declineBox: $("decline-box"),
  declineAffect: $("decline-affect"),
  start: $("start"),
  preview: $("preview"),
  connection: $("connection"),
  precheck: $("precheck"),
  checkFace: $("check-face"),
  checkOne: $("check-one"),
  checkLight: $("check-light"),
  precheckWarning: $("precheck-warning"),
  begin: $("begin"),
  questionBox: $("question-box"),
  question: $("question"),
  questionCount: $("question-count"),
  questionPrompt: $("question-prompt"),
  answerForm: $("answer-form"),
  answer: $("answer"),
  audioBox: $("audio-box"),
  recordBox: $("record-box"),
  submitAnswer: $("submit-answer"),
  next: $("next"),
  finish: $("finish")
}

const say = (text) => {
  ui.status.textContent = text
}

const show = (name) => {
  for (const [key, el] of Object.entries(ui.views)) el.hidden = key !== name
}

// --- The link: /join/<id>#token=<token> -------------------------------------------------------------------------

const interviewId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "")
const tokenKey = `candor-token:${interviewId}`

const readToken = () => {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token")
  if (fromHash !== null && fromHash.length > 0) {
    // Kept for a reload of this tab only, and taken out of the address bar (and so out of history and screenshots).
    try {
      sessionStorage.setItem(tokenKey, fromHash)
    } catch {}
    history.replaceState(null, "", location.pathname + location.search)
    return fromHash
  }
  try {
    return sessionStorage.getItem(tokenKey)
  } catch {
    return null
  }
}

const token = readToken()
const auth = () => ({ authorization: `Bearer ${token}` })
const api = (path) => `/v1/interviews/${encodeURIComponent(interviewId)}${path}`

// --- Error pages ------------------------------------------------------------------------------------------------

const errorPages = {
  missing: [
    "This link is incomplete",
    "The link you opened has no access code in it.",
    "Open the full link again from your invitation."
  ],
  unauthorized: [
    "This link has expired",
    "The link is no longer valid or has expired.",
    "Ask the organisation that invited you for a new link."
  ],
  forbidden: [
    "This link is not for this interview",
    "The access code in the link belongs to another interview.",
    "Open the link exactly as it was sent to you."
  ],
  not_found: [
    "Interview not found",
    "There is no interview at this link. It may have been removed.",
    "Ask the organisation that invited you for a new link."
  ],
  finished: [
    "This interview is already finished",
    "Your answers were saved when you finished.",
    "A person will review your interview. There is nothing more to do."
  ],
  erased: [
    "This interview was removed",
    "The organisation removed this interview and everything recorded in it.",
    "If you think this is a mistake, contact the organisation that invited you."
  ],
  replaced: [
    "The interview continues in another window",
    "This interview was opened in another tab or window, so it stopped here.",
    "Close this page, or continue here instead."
  ],
  unreachable: ["We cannot reach the interview service", "Check your internet connection and reload this page.", ""],
  camera: [
    "The camera could not start",
    "",
    "Allow this page to use your camera, close other apps that use it, then reload the page."
  ]
}

let stopped = false

const showError = (kind, detail) => {
  const [title, text, help] = errorPages[kind] ?? errorPages.unreachable
  ui.errorTitle.textContent = title
  ui.errorText.textContent = detail ?? text
  ui.errorHelp.textContent = help
  ui.retry.hidden = kind !== "replaced"
  show("error")
  say(title)
  document.title = `${title} — Candor`
}

const stopEverything = () => {
  stopped = true
  session.close()
  camera.stop()
  recorder.stop(true)
  answerRecorder?.stop()
}

// --- The interview's notice ----------------------------------------------------------------------------------------

let info = null

const signalsOn = () => info !== null && (info.signals.emotion === true || info.signals.blinks === true)

/** Each answer is recorded as video with sound (the interview's mode). */
const recordedMode = () => info?.mode === "recorded"

const renderNotice = () => {
  ui.organisation.textContent = `Invited by ${info.organisation}`
  ui.organisation.hidden = false
  ui.noticeText.textContent = info.notice.text
  ui.noticeText.hidden = info.notice.text.trim() === ""
  ui.noticeVersion.textContent = info.notice.version
  const items = [
    "Face presence: whether your face is visible in your camera video while you answer (attention). Still pictures may be kept for the reviewer.",
    "Your answers, which are scored against the questions’ criteria for the reviewer."
  ]
  if (info.signals.emotion === true)
    items.push("Your facial expressions, read as emotions (optional: you can decline this below).")
  if (info.signals.blinks === true) items.push("How often you blink (optional: you can decline this below).")
  if (recordedMode())
    items.push(
      "Your camera video and your voice while you answer: each answer you record is kept as a video for the reviewer" +
        (info.recording?.transcribed === true ? ", and what you say is transcribed as your answer." : ".")
    )
  else if (info.audioAnswers === true) items.push("Your voice, only if you choose to record a spoken answer.")
  ui.signals.replaceChildren(
    ...items.map((text) => {
      const li = document.createElement("li")
      li.textContent = text
      return li
    })
  )
  ui.retention.textContent = `Your interview and everything recorded in it is kept for ${info.retentionDays} days, then erased.`
  ui.contact.textContent =
    info.contact !== null && info.contact !== undefined && info.contact !== ""
      ? `Contact ${info.contact} to see, correct or erase your data, or with any question.`
      : `Contact ${info.organisation} to see, correct or erase your data, or with any question.`
  ui.declineBox.hidden = !(signalsOn() && info.affectDeclinable !== false)
  show("notice")
  say(`Please read the notice from ${info.organisation}, then tick the box and press Start.`)
}

const load = async () => {
  if (interviewId === "" || token === null || token === "") return showError("missing")
  let res
  try {
    res = await fetch(api("/candidate"), { headers: auth(), cache: "no-store" })
  } catch {
    return showError("unreachable")
  }
  if (res.status === 401) return showError("unauthorized")
  if (res.status === 403) return showError("forbidden")
  if (res.status === 404) {
    const body = await res.json().catch(() => null)
    return showError(body?.error?.code === "erased" ? "erased" : "not_found")
  }
  if (!res.ok) return showError("unreachable", `The interview service answered with an error (${res.status}).`)
  info = await res.json()
  if (info.status === "finished" || info.status === "abandoned") return showError("finished")
  renderNotice()
}

// --- Consent ------------------------------------------------------------------------------------------------------

ui.consent.addEventListener("change", () => {
  ui.start.disabled = !ui.consent.checked
})

const recordConsent = async (kind, granted) => {
  const res = await fetch(api("/consents"), {
    method: "POST",
    headers: { ...auth(), "content-type": "application/json" },
    body: JSON.stringify({ kind, granted, noticeVersion: info.notice.version })
  })
  if (res.status !== 201) throw Object.assign(new Error(`consent ${kind}: ${res.status}`), { status: res.status })
}

ui.consentForm.addEventListener("submit", async (event) => {
  event.preventDefault()
  if (!ui.consent.checked) {
    say("Please tick the box to agree to the notice first.")
    ui.consent.focus()
    return
  }
  ui.start.disabled = true
  ui.consent.disabled = true
  ui.declineAffect.disabled = true
  const affect = signalsOn() && !ui.declineAffect.checked
  say("Saving your consent…")
  try {
    await recordConsent("data_processing", true)
    await recordConsent("recording", true)
    await recordConsent("affect_analysis", affect)
  } catch (e) {
    if (e.status === 401) return showError("unauthorized")
    if (e.status === 403) return showError("forbidden")
    if (e.status === 404) return showError("not_found")
    ui.start.disabled = false
    ui.consent.disabled = false
    ui.declineAffect.disabled = false
    say("Your consent could not be saved. Check your connection and press Start again.")
    return
  }
  say("Starting your camera…")
  try {
    await camera.start()
  } catch (e) {
    return showError("camera", cameraRefused(e))
  }
  show("interview")
  ui.precheck.hidden = false
  say("Connecting…")
  session.connect()
})

/** Why the camera did not start, for the error page (recorded answers need the microphone too). */
const cameraRefused = (e) =>
  `Your browser did not give this page the ${recordedMode() ? "camera and microphone" : "camera"} (${e?.name ?? "error"}).`

// --- Camera and frames ---------------------------------------------------------------------------------------------

const camera = {
  stream: null,
  canvas: document.createElement("canvas"),
  small: document.createElement("canvas"),
  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: FRAME_WIDTH }, height: { ideal: FRAME_HEIGHT }, facingMode: "user" },
      // In recorded mode the answers are recorded with sound from this same stream.
      audio: recordedMode()
    })
    ui.preview.srcObject = this.stream
    await ui.preview.play().catch(() => {})
    this.canvas.width = FRAME_WIDTH
    this.canvas.height = FRAME_HEIGHT
    this.small.width = SMALL_WIDTH
    this.small.height = SMALL_HEIGHT
  },
  stop() {
    for (const track of this.stream?.getTracks() ?? []) track.stop()
    this.stream = null
    ui.preview.srcObject = null
  },
  ready() {
    return this.stream !== null && ui.preview.readyState >= 2 && ui.preview.videoWidth > 0
  },
  /** The current picture as a JPEG, with a small grey copy of it to measure the light on. */
  async capture() {
    const ctx = this.canvas.getContext("2d")
    ctx.drawImage(ui.preview, 0, 0, FRAME_WIDTH, FRAME_HEIGHT)
    const sctx = this.small.getContext("2d", { willReadFrequently: true })
    sctx.drawImage(this.canvas, 0, 0, this.small.width, this.small.height)
    const pixels = sctx.getImageData(0, 0, this.small.width, this.small.height).data
    const luma = new Uint8Array(pixels.length / 4)
    for (let i = 0; i < luma.length; i++)
      luma[i] = 0.299 * pixels[4 * i] + 0.587 * pixels[4 * i + 1] + 0.114 * pixels[4 * i + 2]
    const blob = await new Promise((resolve) => this.canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY))
    return { jpeg: blob === null ? null : await blob.arrayBuffer(), luma }
  }
}

/**
 * Mean brightness (0–255) of a captured frame's grey copy: over the face's box when there is one (a lit face in a
 * dark room is fine), else over the whole frame.
 */
const brightness = (luma, box) => {
  const w = SMALL_WIDTH
  const h = SMALL_HEIGHT
  const scale = w / FRAME_WIDTH
  let [x0, y0, x1, y1] = [0, 0, w, h]
  if (box !== undefined) {
    x0 = Math.max(0, Math.floor(box[0] * scale))
    y0 = Math.max(0, Math.floor(box[1] * scale))
    x1 = Math.min(w, Math.max(x0 + 1, Math.ceil((box[0] + box[2]) * scale)))
    y1 = Math.min(h, Math.max(y0 + 1, Math.ceil((box[1] + box[3]) * scale)))
  }
  let sum = 0
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += luma[y * w + x]
  return sum / ((x1 - x0) * (y1 - y0))
}

/** The binary frame: version, kind, uint32 seq, float64 capture time (big-endian), then the JPEG. */
const encodeFrame = (seq, capturedAt, jpeg) => {
  const out = new Uint8Array(14 + jpeg.byteLength)
  const view = new DataView(out.buffer)
  view.setUint8(0, 1)
  view.setUint8(1, 1)
  view.setUint32(2, seq, false)
  view.setFloat64(6, capturedAt, false)
  out.set(new Uint8Array(jpeg), 14)
  return out.buffer
}

// --- Pre-check -----------------------------------------------------------------------------------------------------

const precheck = {
  passes: 0,
  passed: false,
  startedAt: 0,
  warned: false,
  setMark(li, ok) {
    li.dataset.state = ok ? "ok" : "fail"
    li.querySelector(".label").setAttribute("aria-label", `${li.textContent.trim()}: ${ok ? "passed" : "not yet"}`)
  },
  reset() {
    this.passes = 0
    this.passed = false
    this.warned = false
    this.startedAt = Date.now()
  },
  observe(faces, level) {
    if (this.passed) return
    const found = faces.length >= 1
    const one = faces.length === 1
    const light = level > MIN_BRIGHTNESS
    this.setMark(ui.checkFace, found)
    this.setMark(ui.checkOne, one)
    this.setMark(ui.checkLight, light)
    this.passes = found && one && light ? this.passes + 1 : 0
    if (this.passes >= PRECHECK_PASSES) {
      this.passed = true
      ui.precheckWarning.hidden = true
      ui.begin.disabled = false
      ui.begin.textContent = "Begin the interview"
      say("Camera check passed. Press “Begin the interview” when you are ready.")
      return
    }
    this.last = { found, one, light }
    this.maybeWarn()
  },
  last: { found: false, one: false, light: false },
  maybeWarn() {
    if (this.passed || this.warned || this.startedAt === 0) return
    const { found, one } = this.last
    if (Date.now() - this.startedAt > PRECHECK_WARN_MS) {
      this.warned = true
      ui.precheckWarning.hidden = false
      ui.begin.disabled = false
      ui.begin.textContent = "Continue anyway"
      say(
        !found
          ? "No face is found yet. Face the camera, or continue anyway."
          : !one
            ? "More than one face is in the picture. Make sure you are alone, or continue anyway."
            : "The picture is dark. Move into the light, or continue anyway."
      )
    }
  }
}

// --- The interview's socket ----------------------------------------------------------------------------------------

/** The page's phase: notice → precheck → question → done. */
const state = {
  phase: "notice",
  started: false,
  pendingQuestion: null,
  question: null,
  questionCount: 0,
  answered: new Set(),
  /** A command to send again after a reconnect (next or finish), until its reply arrives. */
  pending: null,
  /** An answer sent over the socket and not yet acknowledged: sent again after a reconnect. */
  pendingAnswer: null
}

const session = {
  ws: null,
  attempts: 0,
  timer: 0,
  frameTimer: 0,
  maxFps: 5,
  fps: 5,
  slowUntil: 0,
  seq: 0,
  inFlight: new Map(),
  capturing: false,
  closedOnPurpose: false,
  connect() {
    if (stopped) return
    clearTimeout(this.timer)
    const url = `${info.streamUrl}?token=${encodeURIComponent(token)}`
    const ws = new WebSocket(url)
    ws.binaryType = "arraybuffer"
    this.ws = ws
    ws.addEventListener("open", () => {
      ui.connection.textContent = "Connected"
    })
    ws.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return
      let message
      try {
        message = JSON.parse(event.data)
      } catch {
        return
      }
      onMessage(message)
    })
    ws.addEventListener("close", (event) => this.onClose(ws, event))
  },
  close() {
    this.closedOnPurpose = true
    clearTimeout(this.timer)
    clearTimeout(this.frameTimer)
    if (this.ws !== null && this.ws.readyState <= 1) this.ws.close(1000)
    this.ws = null
  },
  open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN
  },
  send(message) {
    if (!this.open()) return false
    this.ws.send(JSON.stringify(message))
    return true
  },
  async onClose(ws, event) {
    if (ws !== this.ws) return
    this.ws = null
    this.inFlight.clear()
    clearTimeout(this.frameTimer)
    if (this.closedOnPurpose || stopped) return
    if (event.code === CLOSE.erased) return stopAnd("erased")
    if (event.code === CLOSE.replaced) return stopAnd("replaced")
    if (event.code === CLOSE.normal && state.phase === "done") return
    this.attempts++
    // After a few failed attempts ask the API why: the link may have expired, or the interview finished or gone.
    if (this.attempts % 3 === 0) {
      const why = await checkLink()
      if (why !== null) return stopAnd(why)
    }
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(this.attempts - 1, 4))
    ui.connection.textContent = "Reconnecting…"
    say(`The connection was lost. Reconnecting in ${Math.round(delay / 100) / 10} s…`)
    this.timer = setTimeout(() => this.connect(), delay)
  },
  onSession(message) {
    this.attempts = 0
    this.maxFps = Math.max(1, message.maxFps)
    this.fps = Math.min(this.fps, this.maxFps)
    if (this.fps <= 0 || Date.now() >= this.slowUntil) this.fps = this.maxFps
    // Frame numbers only go up, across reconnects too.
    this.seq = Math.max(this.seq, message.lastSeq + 1)
    this.inFlight.clear()
    this.pump()
  },
  onSlowDown(maxFps) {
    this.fps = Math.max(0.5, Math.min(this.fps, maxFps))
    this.slowUntil = Date.now() + SLOW_DOWN_MS
  },
  rate() {
    // After a slow-down, ramp back up gently: one frame per second more for each second past the quiet time.
    const now = Date.now()
    if (now >= this.slowUntil && this.fps < this.maxFps)
      this.fps = Math.min(this.maxFps, this.fps + Math.max(0.5, (now - this.slowUntil) / 1000))
    return this.fps
  },
  wantsFrames() {
    return state.phase === "precheck" || state.phase === "starting" || state.phase === "question"
  },
  /** Sends the next frame when the rate, the frames in flight and the camera allow; schedules itself. */
  pump() {
    clearTimeout(this.frameTimer)
    if (stopped || !this.open() || !this.wantsFrames()) return
    if (state.phase === "precheck") precheck.maybeWarn()
    const interval = 1000 / this.rate()
    this.frameTimer = setTimeout(() => this.pump(), interval)
    if (this.capturing || this.inFlight.size >= MAX_IN_FLIGHT || !camera.ready()) return
    this.capturing = true
    const capturedAt = Date.now()
    camera
      .capture()
      .then(({ jpeg, luma }) => {
        if (jpeg === null || !this.open()) return
        const seq = this.seq++
        this.inFlight.set(seq, luma)
        this.ws.send(encodeFrame(seq, capturedAt, jpeg))
      })
      .catch(() => {})
      .finally(() => {
        this.capturing = false
      })
  },
  /** A frame's reply arrived: returns the grey copy kept when it was captured. */
  answered(seq) {
    const luma = this.inFlight.get(seq)
    this.inFlight.delete(seq)
    return luma
  }
}

const stopAnd = (kind) => {
  stopEverything()
  showError(kind)
}

/** Why the link no longer works (an error page's kind), or null when it still does. */
const checkLink = async () => {
  try {
    const res = await fetch(api("/candidate"), { headers: auth(), cache: "no-store" })
    if (res.status === 401) return "unauthorized"
    if (res.status === 403) return "forbidden"
    if (res.status === 404) {
      const body = await res.json().catch(() => null)
      return body?.error?.code === "erased" ? "erased" : "not_found"
    }
    if (!res.ok) return null
    const now = await res.json()
    if (now.status === "finished" || now.status === "abandoned") return state.phase === "done" ? null : "finished"
    return null
  } catch {
    return null
  }
}

// --- Questions -----------------------------------------------------------------------------------------------------

const showQuestion = (q) => {
  const same = state.question !== null && state.question.questionId === q.questionId
  state.question = q
  state.questionCount = q.count
  state.phase = "question"
  ui.precheck.hidden = true
  ui.questionBox.hidden = false
  ui.questionCount.textContent = `Question ${q.index + 1} of ${q.count}`
  ui.questionPrompt.textContent = q.prompt
  if (!same) {
    ui.answer.value = ""
    ui.question.focus()
  }
  renderControls()
  answerRecorder?.show(q)
  session.pump()
}

const renderControls = () => {
  const q = state.question
  if (q === null) return
  const done = state.answered.has(q.questionId)
  const last = q.index + 1 >= q.count
  ui.answer.readOnly = done
  ui.submitAnswer.disabled = done
  ui.submitAnswer.textContent = done ? "Answer saved" : "Submit answer"
  ui.next.hidden = last
  ui.finish.hidden = !last
  recorder.render(done)
}

const onQuestion = (q) => {
  if (state.pending?._tag === "next") state.pending = null
  if (state.phase === "precheck") {
    // A question arriving during the camera check (the interview was started before): it waits for Begin.
    state.pendingQuestion = q
    return
  }
  showQuestion(q)
  say(
    answerRecorder !== null
      ? `Question ${q.index + 1} of ${q.count}. Press “Record your answer”${info.recording?.transcribed ? ", or type it" : ", then type it too"}.`
      : `Question ${q.index + 1} of ${q.count}. Type your answer${info.audioAnswers ? " or record it" : ""}.`
  )
}

const onAnswerSaved = (questionId) => {
  state.answered.add(questionId)
  if (state.pendingAnswer?.questionId === questionId) state.pendingAnswer = null
  renderControls()
  const last = state.question !== null && state.question.index + 1 >= state.question.count
  say(
    last
      ? "Your answer is saved. Press “Finish the interview” when you are done."
      : "Your answer is saved. Press “Next question” to go on."
  )
}

const onFinished = () => {
  state.phase = "done"
  state.pending = null
  stopEverything()
  show("done")
  say("Thank you. Your interview is finished; a person will review it.")
}

const onMessage = (m) => {
  switch (m._tag) {
    case "session":
      return onSessionMessage(m)
    case "question":
      return onQuestion(m)
    case "answerSaved":
      return onAnswerSaved(m.questionId)
    case "analysis": {
      const luma = session.answered(m.seq)
      if (state.phase === "precheck" && luma !== undefined) precheck.observe(m.faces, brightness(luma, m.faces[0]?.box))
      return
    }
    case "slowDown":
      return session.onSlowDown(m.maxFps)
    case "finished":
      return onFinished()
    case "error":
      return onError(m)
  }
}

const onSessionMessage = (m) => {
  const resuming = session.attempts > 0 || m.resumed
  session.onSession(m)
  ui.connection.textContent = "Connected"
  state.questionCount = m.questionCount
  for (const id of m.answered) state.answered.add(id)
  if (m.status === "finished") return onFinished()
  if (m.consentRequired) say("Your consent is not recorded yet; the camera pictures are not analysed.")
  if (m.status === "question" && m.question !== null) {
    if (state.phase === "notice" && !resuming) {
      // A reload in the middle of the interview: the camera check was done before.
      showQuestion(m.question)
      say(`Welcome back. You are on question ${m.question.index + 1} of ${m.question.count}.`)
    } else if (state.phase === "precheck") {
      state.started = true
      state.pendingQuestion = m.question
    } else if (state.phase !== "done") {
      showQuestion(m.question)
      if (resuming) say(`Reconnected. You are on question ${m.question.index + 1} of ${m.question.count}.`)
    }
  } else if (state.phase === "notice") state.phase = "precheck"
  if (state.phase === "precheck" && !precheck.passed && precheck.startedAt === 0) {
    precheck.reset()
    say("Checking your camera: look at the camera in good light.")
  }
  // An answer, next or finish sent just before the connection dropped: send it again (all are safe to repeat; an
  // answer the interview already has is acknowledged as such).
  if (state.pendingAnswer !== null && !state.answered.has(state.pendingAnswer.questionId))
    session.send(state.pendingAnswer)
  if (state.pending !== null) session.send(state.pending)
  session.pump()
}

const onError = (m) => {
  if (m.seq !== undefined) {
    session.answered(m.seq)
    // Frames before `start` are analysed too (the camera check): the interview starts only when the candidate begins.
    if (m.code === "consent_required") say("Your consent is not recorded; the camera pictures are not analysed.")
    else if (m.code === "rate_limited") session.onSlowDown(Math.max(1, session.fps / 2))
    return
  }
  switch (m.code) {
    case "erased":
      return stopAnd("erased")
    case "finished":
      return state.phase === "done" ? undefined : onFinished()
    case "already_answered":
      if (state.question !== null) onAnswerSaved(state.question.questionId)
      return
    case "not_current_question":
      return say("That question is no longer the current one; your page now shows the current question.")
    case "no_more_questions":
      state.pending = null
      if (state.question !== null) {
        ui.next.hidden = true
        ui.finish.hidden = false
      }
      return say("This was the last question. Press “Finish the interview” when you are done.")
    case "consent_required":
      return say("Your consent is not recorded, so nothing can be saved. Reload the page and consent again.")
    case "replaced":
      return stopAnd("replaced")
    default:
      return say(`Something went wrong: ${m.message}`)
  }
}

ui.begin.addEventListener("click", () => {
  ui.begin.disabled = true
  state.phase = "starting"
  if (state.pendingQuestion !== null) {
    const q = state.pendingQuestion
    state.pendingQuestion = null
    return onQuestion(q)
  }
  if (!state.started) {
    state.started = true
    session.send({ _tag: "start" })
  }
  say("Starting the interview…")
})

ui.answerForm.addEventListener("submit", async (event) => {
  event.preventDefault()
  const q = state.question
  if (q === null) return
  const text = ui.answer.value.trim()
  if (text === "") {
    say("Please type your answer first.")
    ui.answer.focus()
    return
  }
  say("Saving your answer…")
  state.pendingAnswer = { _tag: "answer", questionId: q.questionId, text }
  if (session.send(state.pendingAnswer)) return
  state.pendingAnswer = null
  // No connection just now: the answer goes over HTTP instead, which the interview takes the same way.
  try {
    const res = await fetch(api("/answers"), {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ questionId: q.questionId, text })
    })
    if (res.ok || res.status === 409) onAnswerSaved(q.questionId)
    else say("Your answer could not be saved yet. Please try again in a moment.")
  } catch {
    say("You are offline. Your answer is still here; submit it again when the connection is back.")
  }
})

/** Says why the candidate cannot move on while an answer is being recorded or uploaded; true when so. */
const recorderBusy = () => {
  const why = answerRecorder?.busy() ?? null
  if (why !== null) say(why)
  return why !== null
}

ui.next.addEventListener("click", () => {
  const q = state.question
  if (q === null || recorderBusy()) return
  if (!state.answered.has(q.questionId) && ui.answer.value.trim() !== "")
    say("You typed an answer but did not submit it. Submit it first, or clear it to skip the question.")
  else {
    state.pending = { _tag: "next", fromQuestionId: q.questionId }
    say(session.send(state.pending) ? "Loading the next question…" : "Waiting for the connection to come back…")
  }
})

ui.finish.addEventListener("click", async () => {
  const q = state.question
  if (recorderBusy()) return
  if (q !== null && !state.answered.has(q.questionId) && ui.answer.value.trim() !== "") {
    say("You typed an answer but did not submit it. Submit it first, or clear it to finish without it.")
    return
  }
  state.pending = { _tag: "finish" }
  if (session.send(state.pending)) return say("Finishing the interview…")
  try {
    const res = await fetch(api("/finish"), { method: "POST", headers: auth() })
    if (res.ok) onFinished()
    else say("The interview could not be finished yet. Please try again in a moment.")
  } catch {
    say("You are offline. Press “Finish the interview” again when the connection is back.")
  }
})

ui.retry.addEventListener("click", () => {
  // Take the interview back from the other tab: a new socket replaces the other one.
  stopped = false
  session.closedOnPurpose = false
  session.attempts = 0
  ui.retry.hidden = true
  camera
    .start()
    .then(() => {
      show("interview")
      session.connect()
    })
    .catch((e) => showError("camera", cameraRefused(e)))
})

// --- Spoken answers (only where the interview takes them) -------------------------------------------------------

const recorder = {
  media: null,
  chunks: [],
  button: null,
  discard: false,
  setup() {
    if (info?.audioAnswers !== true || typeof MediaRecorder === "undefined") return
    const button = document.createElement("button")
    button.type = "button"
    button.id = "record-answer"
    button.dataset.testid = "record-answer"
    button.className = "secondary"
    button.textContent = "Record a spoken answer"
    button.addEventListener("click", () => (this.media === null ? this.begin() : this.stop(false)))
    ui.audioBox.replaceChildren(button)
    ui.audioBox.hidden = false
    this.button = button
  },
  render(answered) {
    if (this.button === null) return
    this.button.disabled = answered && this.media === null
  },
  async begin() {
    const type = (info.audioTypes ?? []).find((t) => MediaRecorder.isTypeSupported(t))
    let stream
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true })
    } catch {
      return say("The microphone could not start. You can type your answer instead.")
    }
    const media = new MediaRecorder(stream, type === undefined ? {} : { mimeType: type })
    this.chunks = []
    this.discard = false
    media.addEventListener("dataavailable", (e) => {
      if (e.data.size > 0) this.chunks.push(e.data)
    })
    media.addEventListener("stop", () => {
      for (const track of stream.getTracks()) track.stop()
      this.media = null
      this.button.classList.remove("recording")
      this.button.textContent = "Record a spoken answer"
      if (!this.discard) this.upload(new Blob(this.chunks, { type: media.mimeType || type || "audio/webm" }))
    })
    media.start()
    this.media = media
    this.button.classList.add("recording")
    this.button.textContent = "Stop recording and send"
    say("Recording your answer. Press “Stop recording and send” when you are done.")
  },
  stop(discard) {
    if (this.media === null) return
    this.discard = discard
    this.media.stop()
  },
  async upload(blob) {
    const q = state.question
    if (q === null) return
    if (blob.size > (info.maxAudioBytes ?? Number.POSITIVE_INFINITY))
      return say("The recording is too long to send. Please record a shorter answer or type it.")
    say("Sending your spoken answer…")
    try {
      const res = await fetch(`${api("/answers/audio")}?questionId=${encodeURIComponent(q.questionId)}`, {
        method: "POST",
        headers: { ...auth(), "content-type": blob.type.split(";")[0] },
        body: blob
      })
      if (res.ok) {
        // What was understood is shown as the answer, as if it had been typed.
        const saved = await res.json().catch(() => null)
        if (typeof saved?.text === "string" && state.question?.questionId === q.questionId) ui.answer.value = saved.text
        onAnswerSaved(q.questionId)
      } else if (res.status === 409) onAnswerSaved(q.questionId)
      else if (res.status === 503)
        say("Your spoken answer could not be processed just now. Please try again, or type it.")
      else say(`Your spoken answer could not be saved (${res.status}). Please type it instead.`)
    } catch {
      say("You are offline. Please send your answer again when the connection is back.")
    }
  }
}

// Another link pasted into this tab differs only after the "#": load the page again for it.
window.addEventListener("hashchange", () => {
  if (new URLSearchParams(location.hash.slice(1)).has("token")) location.reload()
})

window.addEventListener("pagehide", () => {
  if (state.phase !== "done") session.close()
})

// --- Recorded answers (interviews in recorded mode) ----------------------------------------------------------------

let answerRecorder = null

const onRecordingStored = (questionId, result) => {
  const t = result.transcription
  // What was understood is shown as the answer, as if it had been typed.
  if (result.answer !== null && state.question?.questionId === questionId) ui.answer.value = result.answer.text
  if (t.status === "stored" || t.status === "already_answered") return onAnswerSaved(questionId)
  say(
    t.status === "not_configured"
      ? "Your recording is saved. Please also type your answer below and submit it."
      : t.status === "no_speech"
        ? "Your recording is saved, but no speech was recognised in it. Please type your answer below."
        : "Your recording is saved, but it could not be transcribed. Please type your answer below."
  )
}

const setupRecording = () => {
  if (!recordedMode()) return recorder.setup()
  answerRecorder = makeAnswerRecorder({
    box: ui.recordBox,
    stream: () => camera.stream,
    api,
    auth,
    limits: info.recording,
    say,
    onStored: onRecordingStored
  })
  if (!answerRecorder.available) say("This browser cannot record video; please type your answers.")
}

load().then(
  () => {
    if (info !== null) setupRecording()
  },
  () => showError("unreachable")
)
