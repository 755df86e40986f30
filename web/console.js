// The recruiter console (web/console.html): sign in (API key or email and password) into the server's HttpOnly
// session cookie, list, create and erase interviews, and watch one live. Plain DOM, no framework; every value from
// the server goes in through textContent. State-changing requests carry the session's CSRF token.

const $ = (id) => document.getElementById(id)

const PAGE_SIZE = 20
const MAX_EVENTS = 300
const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]

/** The signed-in session: `me` from /v1/me (with its csrfToken), or null when signed out. */
let me = null

// ---------------------------------------------------------------------------------------------------------------
// Status and requests

const say = (text, isError = false) => {
  const status = $("status")
  status.textContent = text
  status.classList.toggle("error", isError)
}

class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** A JSON request to the API with the session cookie; state-changing methods carry the CSRF token. */
const api = async (path, { method = "GET", body } = {}) => {
  const headers = {}
  if (body !== undefined) headers["content-type"] = "application/json"
  if (method !== "GET" && me !== null) headers["x-csrf-token"] = me.csrfToken
  let response
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    })
  } catch {
    throw new ApiFailure(0, "network", "The server could not be reached. Check the connection and try again.")
  }
  if (response.status === 204) return null
  let data = null
  try {
    data = await response.json()
  } catch {
    data = null
  }
  if (!response.ok) {
    const code = data?.error?.code ?? "error"
    const message = data?.error?.message ?? `The server answered ${response.status}.`
    if (response.status === 401 && me !== null && path !== "/v1/sessions") {
      showSignedOut("Your session has ended. Sign in again.")
    }
    throw new ApiFailure(response.status, code, message)
  }
  return data
}

const formatTime = (iso) => {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}

const element = (tag, props = {}, ...children) => {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue
    if (key === "class") node.className = value
    else if (key === "text") node.textContent = value
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value)
    else node[key] = value
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child)
  return node
}

// ---------------------------------------------------------------------------------------------------------------
// Signing in and out

const showSignedOut = (message) => {
  me = null
  closeLive()
  $("loading").hidden = true
  $("app").hidden = true
  $("who").hidden = true
  $("signin").hidden = false
  if (message !== undefined) say(message)
}

const showSignedIn = () => {
  $("loading").hidden = true
  $("signin").hidden = true
  $("app").hidden = false
  $("who").hidden = false
  const who = me.actor.startsWith("key:") ? "an API key" : "your account"
  $("who-text").textContent = `Signed in with ${who} · ${me.role}`
  const reader = me.role === "reader"
  $("create").hidden = reader
  loadInterviews(true)
}

const refreshMe = async () => {
  me = null
  const response = await fetch("/v1/me", { credentials: "same-origin" }).catch(() => null)
  if (response === null) {
    showSignedOut("The server could not be reached. Reload the page to try again.")
    return false
  }
  if (!response.ok) {
    showSignedOut()
    return false
  }
  me = await response.json()
  showSignedIn()
  return true
}

const signIn = async (body, form) => {
  const button = form.querySelector("button[type=submit]")
  button.disabled = true
  say("Signing in…")
  try {
    await api("/v1/sessions", { method: "POST", body })
    form.reset()
    if (await refreshMe()) {
      say("Signed in.")
      $("main").focus()
    }
  } catch (e) {
    if (e.status === 401) say("Sign-in failed: that key, email or password is not right.", true)
    else if (e.status === 429) say("Too many failed sign-ins for this address. Wait a while and try again.", true)
    else say(`Sign-in failed: ${e.message}`, true)
    form.querySelector("input")?.focus()
  } finally {
    button.disabled = false
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault()
  const apiKey = $("api-key").value.trim()
  if (apiKey === "") {
    say("Enter the API key.", true)
    $("api-key").focus()
    return
  }
  signIn({ apiKey }, event.currentTarget)
})

$("account-form").addEventListener("submit", (event) => {
  event.preventDefault()
  const email = $("email").value.trim()
  const password = $("password").value
  if (email === "" || password === "") {
    say("Enter your email and password.", true)
    ;(email === "" ? $("email") : $("password")).focus()
    return
  }
  signIn({ email, password }, event.currentTarget)
})

$("sign-out").addEventListener("click", async () => {
  try {
    await api("/v1/sessions", { method: "DELETE" })
    showSignedOut("Signed out.")
    $("api-key").focus()
  } catch (e) {
    say(`Sign-out failed: ${e.message}`, true)
  }
})

// Tabs of the sign-in box: click or arrow keys switch; only the selected tab is in the tab order.
const tabs = [$("tab-key"), $("tab-account")]
const selectTab = (tab, focus) => {
  for (const t of tabs) {
    const selected = t === tab
    t.setAttribute("aria-selected", String(selected))
    t.tabIndex = selected ? 0 : -1
    $(t.getAttribute("aria-controls")).hidden = !selected
  }
  if (focus) tab.focus()
}
for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab, true))
  tab.addEventListener("keydown", (event) => {
    const i = tabs.indexOf(tab)
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault()
      const next = tabs[(i + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length]
      selectTab(next, true)
    }
  })
}

// ---------------------------------------------------------------------------------------------------------------
// The interviews list

let cursor = null
let listGeneration = 0

const statusLabel = (status) => status.replace("_", " ")

const interviewRow = (item) => {
  const li = element("li", { class: "interview", "data-testid": "interview-row", "data-id": item.id })
  const info = element(
    "div",
    { class: "info" },
    element("div", { class: "name", text: item.candidateName }),
    element(
      "div",
      { class: "muted" },
      element("span", { class: `tag ${item.status}`, text: statusLabel(item.status) }),
      ` · ${item.questionCount} question${item.questionCount === 1 ? "" : "s"} · created ${formatTime(item.createdAt)}`
    )
  )
  const report = element("a", {
    href: `/v1/interviews/${encodeURIComponent(item.id)}/report.html`,
    "data-testid": "open-report",
    text: "Report",
    "aria-label": `Report of ${item.candidateName}`
  })
  const watch = element("button", {
    type: "button",
    class: "secondary",
    "data-testid": "open-live",
    text: "Watch live",
    "aria-label": `Watch ${item.candidateName}'s interview live`
  })
  watch.addEventListener("click", () => openLive(item.id, item.candidateName))
  const actions = element("div", { class: "actions" }, report, watch)
  if (me?.role !== "reader") {
    const erase = element("button", {
      type: "button",
      class: "secondary danger",
      "data-testid": "erase",
      text: "Erase",
      "aria-label": `Erase ${item.candidateName}'s interview`
    })
    erase.addEventListener("click", () => confirmErase(li, actions, item))
    actions.append(erase)
  }
  li.append(info, actions)
  return li
}

/** Asks in the row itself before erasing: erasure removes everything recorded about the candidate. */
const confirmErase = (li, actions, item) => {
  const question = element("p", {
    class: "error",
    text: `Erase the interview of ${item.candidateName} and everything recorded about it? This cannot be undone.`
  })
  const yes = element("button", {
    type: "button",
    class: "danger confirm",
    "data-testid": "confirm-erase",
    text: "Erase for good"
  })
  const no = element("button", { type: "button", class: "secondary", text: "Cancel" })
  const box = element("div", { class: "actions", role: "group", "aria-label": "Confirm erasure" }, question, yes, no)
  actions.hidden = true
  li.append(box)
  no.addEventListener("click", () => {
    box.remove()
    actions.hidden = false
    actions.querySelector("[data-testid=erase]")?.focus()
  })
  yes.addEventListener("click", async () => {
    yes.disabled = true
    try {
      await api(`/v1/interviews/${encodeURIComponent(item.id)}`, { method: "DELETE" })
      if (live?.id === item.id) closeLive()
      li.remove()
      say(`The interview of ${item.candidateName} was erased.`)
      $("refresh").focus()
    } catch (e) {
      yes.disabled = false
      say(`Not erased: ${e.message}`, true)
    }
  })
  yes.focus()
}

const loadInterviews = async (reset) => {
  const generation = reset ? ++listGeneration : listGeneration
  if (reset) cursor = null
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) })
  const status = $("status-filter").value
  if (status !== "") params.set("status", status)
  if (!reset && cursor !== null) params.set("cursor", cursor)
  try {
    const page = await api(`/v1/interviews?${params}`)
    if (generation !== listGeneration) return
    const list = $("interviews")
    if (reset) list.replaceChildren()
    for (const item of page.items) list.append(interviewRow(item))
    cursor = page.nextCursor
    $("more").hidden = cursor === null
    $("list-empty").hidden = list.children.length > 0
    $("interviews").setAttribute("aria-busy", "false")
  } catch (e) {
    if (me !== null) say(`The interviews could not be loaded: ${e.message}`, true)
  }
}

$("refresh").addEventListener("click", () => {
  loadInterviews(true)
  say("Interviews refreshed.")
})
$("status-filter").addEventListener("change", () => loadInterviews(true))
$("more").addEventListener("click", () => loadInterviews(false))

// ---------------------------------------------------------------------------------------------------------------
// Creating an interview

let uid = 0
const nextId = (prefix) => `${prefix}-${++uid}`

/** Connects a cloned label to its control with fresh ids. */
const link = (root, labelClass, controlClass, prefix) => {
  const id = nextId(prefix)
  root.querySelector(`.${controlClass}`).id = id
  root.querySelector(`.${labelClass}`).htmlFor = id
}

const renumberQuestions = () => {
  const blocks = [...$("questions").querySelectorAll(".question-block")]
  blocks.forEach((block, i) => {
    block.querySelector(".q-number").textContent = String(i + 1)
    const remove = block.querySelector(".remove-question")
    remove.hidden = blocks.length === 1
    remove.setAttribute("aria-label", `Remove question ${i + 1}`)
  })
}

const addCriterion = (list) => {
  const item = $("criterion-template").content.firstElementChild.cloneNode(true)
  link(item, "c-name-label", "c-name", "criterion-name")
  link(item, "c-weight-label", "c-weight", "criterion-weight")
  item.querySelector(".remove-criterion").addEventListener("click", () => {
    const fieldset = list.closest(".criteria")
    item.remove()
    fieldset.querySelector(".add-criterion").focus()
  })
  list.append(item)
  return item
}

const addQuestion = () => {
  const block = $("question-template").content.firstElementChild.cloneNode(true)
  link(block, "q-prompt-label", "q-prompt", "question-prompt")
  link(block, "q-points-label", "q-points", "question-points")
  const list = block.querySelector(".criteria-list")
  block.querySelector(".add-criterion").addEventListener("click", () => {
    addCriterion(list).querySelector(".c-name").focus()
  })
  block.querySelector(".remove-question").addEventListener("click", () => {
    block.remove()
    renumberQuestions()
    $("add-question").focus()
  })
  $("questions").append(block)
  renumberQuestions()
  return block
}

$("add-question").addEventListener("click", () => {
  addQuestion().querySelector(".q-prompt").focus()
})

const slug = (name) =>
  name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)

/** Shows what to fix in the create form and focuses it; returns null for the caller to return. */
const createError = (text, field) => {
  const box = $("create-error")
  box.textContent = text
  box.hidden = false
  field?.focus()
  return null
}

/** The form as a CreateInterviewRequest, or null after pointing at what to fix. */
const readCreateForm = () => {
  const name = $("candidate-name").value.trim()
  if (name === "") return createError("Enter the candidate's name.", $("candidate-name"))
  const email = $("candidate-email").value.trim()
  if (email !== "" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/u.test(email))
    return createError("Enter a valid email address, or leave it empty.", $("candidate-email"))
  const questions = []
  for (const [i, block] of [...$("questions").querySelectorAll(".question-block")].entries()) {
    const promptField = block.querySelector(".q-prompt")
    const prompt = promptField.value.trim()
    if (prompt === "") return createError(`Question ${i + 1} needs a prompt.`, promptField)
    const question = { prompt }
    const points = block
      .querySelector(".q-points")
      .value.split("\n")
      .map((p) => p.trim())
      .filter((p) => p !== "")
    if (points.length > 0) question.expectedPoints = points
    const criteria = []
    const ids = new Set()
    for (const item of block.querySelectorAll(".criterion")) {
      const criterionName = item.querySelector(".c-name").value.trim()
      if (criterionName === "") continue
      const weightField = item.querySelector(".c-weight")
      const weight = Number(weightField.value === "" ? "1" : weightField.value)
      if (!Number.isFinite(weight) || weight <= 0 || weight > 100)
        return createError("A criterion's weight must be a number above 0 and at most 100.", weightField)
      let id = slug(criterionName) || `criterion-${criteria.length + 1}`
      for (let n = 2; ids.has(id); n++) id = `${slug(criterionName) || "criterion"}-${n}`
      ids.add(id)
      criteria.push({ id, name: criterionName, weight })
    }
    if (criteria.length > 0) question.rubric = { criteria }
    questions.push(question)
  }
  if (questions.length === 0) return createError("Add at least one question.", $("add-question"))
  const candidate = email === "" ? { name } : { name, email }
  return { candidate, mode: $("interview-mode").value === "recorded" ? "recorded" : "live", questions }
}

$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault()
  $("create-error").hidden = true
  const request = readCreateForm()
  if (request === null) return
  const submit = $("create-submit")
  submit.disabled = true
  say("Creating the interview…")
  try {
    const created = await api("/v1/interviews", { method: "POST", body: request })
    $("join-url").value = created.joinUrl
    $("created").hidden = false
    $("created-h").focus()
    say(`Interview for ${request.candidate.name} created. Copy the candidate link below.`)
    event.target.reset()
    $("questions").replaceChildren()
    addQuestion()
    loadInterviews(true)
  } catch (e) {
    createError(`Not created: ${e.message}`)
    say("The interview was not created.", true)
  } finally {
    submit.disabled = false
  }
})

$("copy-join").addEventListener("click", async () => {
  const field = $("join-url")
  try {
    await navigator.clipboard.writeText(field.value)
    say("Candidate link copied.")
  } catch {
    // No clipboard permission (or no secure context): select it so Ctrl+C / Cmd+C copies it.
    field.focus()
    field.select()
    let copied = false
    try {
      copied = document.execCommand("copy")
    } catch {
      copied = false
    }
    say(copied ? "Candidate link copied." : "The link is selected: press Ctrl+C (or Cmd+C) to copy it.")
  }
})

// ---------------------------------------------------------------------------------------------------------------
// The live view

/** The interview watched live: its socket, questions and reconnect state; null when none. */
let live = null

const closeLive = () => {
  if (live === null) return
  const current = live
  live = null
  clearTimeout(current.retryTimer)
  current.socket?.close(1000)
  $("live").hidden = true
}

const setConnection = (text, cls) => {
  const tag = $("live-connection")
  tag.textContent = text
  tag.className = `tag ${cls}`
}

/** "Question 2: <prompt>", or just "Question 2" when `short`. */
const questionText = (questionId, short = false) => {
  const q = live?.questions.find((x) => x.id === questionId)
  if (q === undefined) return "a question"
  return short ? `Question ${q.index + 1}` : `Question ${q.index + 1}: ${q.prompt}`
}

const showEmotion = (distribution, dominant) => {
  $("live-emotion").textContent = dominant ?? "—"
  const box = $("live-emotion-bars")
  if (distribution === null || typeof distribution !== "object") return
  box.hidden = false
  box.replaceChildren()
  for (const label of EMOTIONS) {
    const value = Number(distribution[label] ?? 0)
    const fill = element("div", { class: "fill" })
    fill.style.width = `${Math.round(value * 100)}%`
    box.append(
      element("span", { text: label }),
      element("div", { class: "track", role: "presentation" }, fill),
      element("span", { text: `${Math.round(value * 100)} %` })
    )
  }
}

const percent = (x) => `${Math.round(Number(x) * 100)} %`

/** Applies the live hash (`live` message) to the view. */
const applyFields = (fields) => {
  if (fields.status !== undefined) $("live-state").textContent = statusLabel(fields.status)
  if (fields.questionId !== undefined) $("live-question").textContent = questionText(fields.questionId)
  if (fields.facePresence !== undefined) $("live-face").textContent = percent(fields.facePresence)
  if (fields.blinks !== undefined)
    $("live-blinks").textContent =
      fields.blinksPerMinute === undefined
        ? String(fields.blinks)
        : `${fields.blinks} (${Number(fields.blinksPerMinute).toFixed(0)}/min)`
  if (fields.dominant !== undefined) {
    let distribution = null
    try {
      distribution = fields.emotion === undefined ? null : JSON.parse(fields.emotion)
    } catch {
      distribution = null
    }
    showEmotion(distribution, fields.dominant)
  }
}

/** Fills in the text of recorded answers from the report (an answer event carries only its length). */
const loadAnswers = async () => {
  if (live === null) return
  const current = live
  try {
    const report = await api(`/v1/interviews/${encodeURIComponent(current.id)}/report`)
    if (live !== current) return
    const list = $("live-answers")
    const answered = report.questions.filter((q) => q.answer !== null)
    if (answered.length === 0) return
    list.replaceChildren(
      ...answered.map((q) =>
        element(
          "li",
          {},
          element("b", { text: `Question ${q.index + 1}: ` }),
          element("span", { text: q.answer.text }),
          element("span", { class: "muted", text: ` (${q.scoring.status})` })
        )
      )
    )
  } catch {
    // The events list still says the answer arrived.
  }
}

const describeEvent = (e) => {
  switch (e._tag) {
    case "interviewStarted":
      return `Interview started (${e.questionCount} questions)`
    case "questionStarted":
      return `Now on ${questionText(e.questionId, true)}`
    case "answerRecorded":
      return `Answer recorded for ${questionText(e.questionId, true)} (${e.chars} characters)`
    case "interviewFinished":
      return `Interview finished: ${e.answered} of ${e.questionCount} answered`
    case "attention":
      return `Second ${e.second}: face in ${percent(e.facePresence)} of ${e.frames} frames${e.multipleFaces > 0 ? `, several faces in ${percent(e.multipleFaces)}` : ""}`
    case "emotion":
      return `Second ${e.second}: mostly ${e.dominant}`
    case "blink":
      return `Blink (${Math.round(e.durationMs)} ms), ${e.total} so far`
    case "questionSummary":
      return `Summary of question ${e.index + 1}: face ${e.facePresence === null ? "—" : percent(e.facePresence)}${e.dominant === null ? "" : `, mostly ${e.dominant}`}`
    default:
      return e._tag
  }
}

const applyEvent = (e) => {
  switch (e._tag) {
    case "interviewStarted":
      $("live-state").textContent = "in progress"
      loadInterviews(true)
      break
    case "questionStarted":
      $("live-question").textContent = questionText(e.questionId)
      break
    case "answerRecorded": {
      const list = $("live-answers")
      if (list.firstElementChild?.classList.contains("muted")) list.replaceChildren()
      list.append(
        element("li", { text: `${questionText(e.questionId, true)}: answer recorded (${e.chars} characters)` })
      )
      loadAnswers()
      break
    }
    case "interviewFinished":
      $("live-state").textContent = "finished"
      $("live-question").textContent = "The interview is finished."
      say("The interview has finished; its report is being completed.")
      loadInterviews(true)
      break
    case "attention":
      $("live-face").textContent = percent(e.facePresence)
      break
    case "emotion":
      showEmotion(e.distribution, e.dominant)
      break
    case "blink":
      $("live-blinks").textContent =
        e.perMinute === null ? String(e.total) : `${e.total} (${Math.round(e.perMinute)}/min)`
      break
  }
  const list = $("live-events")
  const time = new Date(e.at).toLocaleTimeString()
  list.prepend(element("li", { "data-tag": e._tag, text: `${time} — ${describeEvent(e)}` }))
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove()
}

const connectLive = (current) => {
  const url = `${location.origin.replace(/^http/, "ws")}/v1/interviews/${encodeURIComponent(current.id)}/live`
  const socket = new WebSocket(url)
  current.socket = socket
  setConnection("connecting", "")
  socket.addEventListener("open", () => {
    current.backoff = 500
    setConnection("connected", "open")
  })
  socket.addEventListener("message", (message) => {
    if (live !== current || typeof message.data !== "string") return
    let data
    try {
      data = JSON.parse(message.data)
    } catch {
      return
    }
    if (data._tag === "live") applyFields(data.fields ?? {})
    else applyEvent(data)
  })
  socket.addEventListener("close", (event) => {
    if (live !== current) return
    if (event.code === 4004) {
      setConnection("erased", "closed")
      say("This interview was erased.", true)
      return
    }
    setConnection("reconnecting", "closed")
    current.retryTimer = setTimeout(() => {
      if (live === current) connectLive(current)
    }, current.backoff)
    current.backoff = Math.min(5000, current.backoff * 2)
  })
}

const openLive = async (id, name) => {
  closeLive()
  const current = { id, questions: [], socket: null, backoff: 500, retryTimer: undefined }
  live = current
  $("live-name").textContent = name
  $("live-report").href = `/v1/interviews/${encodeURIComponent(id)}/report.html`
  $("live-state").textContent = "—"
  $("live-face").textContent = "—"
  $("live-blinks").textContent = "—"
  $("live-emotion").textContent = "—"
  $("live-emotion-bars").hidden = true
  $("live-question").textContent = "Not started."
  $("live-answers").replaceChildren(element("li", { class: "muted", text: "None yet." }))
  $("live-events").replaceChildren()
  $("live").hidden = false
  $("live-h").focus()
  say(`Watching ${name}'s interview live.`)
  try {
    const interview = await api(`/v1/interviews/${encodeURIComponent(id)}`)
    if (live !== current) return
    current.questions = interview.questions
    $("live-state").textContent = statusLabel(interview.status)
    if (!interview.affectSignals) {
      $("live-blinks").textContent = "off"
      $("live-emotion").textContent = "off"
    }
  } catch (e) {
    say(`The interview could not be loaded: ${e.message}`, true)
  }
  if (live !== current) return
  connectLive(current)
  loadAnswers()
}

$("live-close").addEventListener("click", () => {
  closeLive()
  say("Live view closed.")
  $("refresh").focus()
})

// ---------------------------------------------------------------------------------------------------------------

addQuestion()
refreshMe()
