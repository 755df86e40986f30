// Enables the review form of the server-rendered report (src/reports/ReportHtml.ts): reads the signed-in session's
// CSRF token from /v1/me and posts the decision as JSON. Without this script (or without a session) the report
// still reads completely; the form stays disabled.

const form = document.getElementById("review-form")
const fields = document.getElementById("review-fields")
const status = document.getElementById("review-status")
const needs = document.getElementById("review-needs")

const say = (text, isError = false) => {
  status.textContent = text
  status.classList.toggle("error", isError)
}

const errorText = async (response) => {
  try {
    const body = await response.json()
    return body?.error?.message ?? `HTTP ${response.status}`
  } catch {
    return `HTTP ${response.status}`
  }
}

const enable = async () => {
  if (form === null) return
  let me
  try {
    const response = await fetch("/v1/me", { credentials: "same-origin" })
    if (!response.ok) return
    me = await response.json()
  } catch {
    return
  }
  if (typeof me.csrfToken !== "string" || me.role === "reader") {
    if (me.role === "reader") needs.textContent = "Your role reads reports; a recruiter or admin adds decisions."
    return
  }
  needs.textContent = "Choose a decision; a note helps the next person who reads this report."
  fields.disabled = false
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    const data = new FormData(form)
    const reviewer = String(data.get("reviewer") ?? "").trim()
    const decision = String(data.get("decision") ?? "")
    if (reviewer === "") {
      say("Enter your name or email as the reviewer.", true)
      form.elements.namedItem("reviewer").focus()
      return
    }
    if (decision === "") {
      say("Choose a decision.", true)
      form.elements.namedItem("decision").focus()
      return
    }
    const body = { reviewer, decision }
    const rating = String(data.get("rating") ?? "")
    if (rating !== "") body.rating = Number(rating)
    const notes = String(data.get("notes") ?? "").trim()
    if (notes !== "") body.notes = notes
    fields.disabled = true
    say("Saving…")
    try {
      const response = await fetch(`/v1/interviews/${encodeURIComponent(form.dataset.interview)}/reviews`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken },
        body: JSON.stringify(body)
      })
      if (response.status === 201) {
        say("Decision saved. Reloading the report…")
        location.reload()
        return
      }
      say(`Not saved: ${await errorText(response)}`, true)
    } catch {
      say("Not saved: the server could not be reached.", true)
    }
    fields.disabled = false
  })
}

enable()
