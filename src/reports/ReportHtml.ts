/**
 * The report as one self-contained HTML page for recruiters: inline styles and an inline SVG timeline, no
 * scripts, fonts or images from elsewhere, so it can be saved, mailed or printed as it is. Every value from the
 * report is escaped; candidate answers are shown verbatim.
 */
import type { CriterionScore } from "../../schemas/AnswerScore.ts"
import { EMOTIONS } from "../../schemas/Emotions.ts"
import type { EmotionScores } from "../../schemas/FrameAnalysis.ts"
import type { QuestionReport, Report, TimelinePoint } from "../../schemas/Report.ts"

const escapeHtml = (value: unknown): string =>
  String(value)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;")

const pct = (x: number | null, digits = 0): string => (x === null ? "—" : `${(x * 100).toFixed(digits)} %`)
const num = (x: number | null, digits = 1): string => (x === null ? "—" : x.toFixed(digits))

const emotionColours: Readonly<Record<string, string>> = {
  angry: "#d62728",
  disgust: "#8c564b",
  fear: "#9467bd",
  happy: "#2ca02c",
  sad: "#1f77b4",
  surprise: "#ff7f0e",
  neutral: "#9e9e9e"
}

const style = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.notice{background:#fff7e0;border:1px solid #e6c35c;padding:.7rem 1rem;border-radius:6px}
.muted{color:#666}.big{font-size:2.4rem;font-weight:600}.tag{display:inline-block;padding:0 .5rem;border-radius:4px;background:#eee;font-size:.85rem}
.warn{background:#fde2e2}.ok{background:#e2f5e2}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
blockquote{margin:.2rem 0;padding:.1rem .6rem;border-left:3px solid #bbb;color:#333}
.answer{white-space:pre-wrap;background:#f7f7f8;padding:.6rem .8rem;border-radius:6px}
.bar{display:inline-block;height:.8rem;vertical-align:middle}
section.q{margin-top:1.6rem}code{font-size:.8rem;word-break:break-all}
@media print{body{margin:0}.notice{break-inside:avoid}}`

const emotionBars = (e: EmotionScores): string =>
  `<table>${EMOTIONS.map(
    (label) =>
      `<tr><td>${label}</td><td><span class="bar" style="width:${(e[label] * 20).toFixed(2)}rem;background:${emotionColours[label]}"></span> ${pct(e[label], 1)}</td></tr>`
  ).join("")}</table>`

const criterionRow = (c: CriterionScore): string => {
  const evidence =
    c.evidence.length === 0
      ? `<span class="muted">no quoted evidence</span>`
      : c.evidence.map((q) => `<blockquote>${escapeHtml(q)}</blockquote>`).join("")
  const flagged = c.flagged === undefined ? "" : `<div class="tag warn">check: ${escapeHtml(c.flagged)}</div>`
  return `<tr><td>${escapeHtml(c.name)}<div class="muted">weight ${c.weight}</div></td>
<td><b>${num(c.score, 2)}</b> / 5<div class="muted">sd ${num(c.spread.stddev, 2)}, ${c.spread.min}–${c.spread.max}</div></td>
<td>${escapeHtml(c.rationale)}${flagged}${evidence}</td></tr>`
}

const questionSection = (q: QuestionReport): string => {
  const status = q.scoring.status
  const statusTag = `<span class="tag ${status === "scored" ? "ok" : status === "failed" ? "warn" : ""}">${status}</span>`
  const reason = q.scoring.reason === null ? "" : `<p class="muted">${escapeHtml(q.scoring.reason)}</p>`
  const answer =
    q.answer === null
      ? `<p class="muted">No answer.</p>`
      : `<div class="answer">${escapeHtml(q.answer.text)}</div><p class="muted">${q.answer.source === "audio" ? `spoken, transcribed by ${escapeHtml(q.answer.transcriptionModel ?? "?")}` : "written"}, ${escapeHtml(q.answer.submittedAt)}</p>`
  const score =
    q.score === null
      ? ""
      : `<p><span class="big">${num(q.score.overall)}</span> / 100 · scorer: <b>${escapeHtml(q.score.label)}</b> · confidence ${pct(q.score.confidence)} · ${q.score.samples} of ${q.score.samplesRequested} gradings · ${q.score.rubricSource === "default" ? "default rubric" : "question's rubric"}</p>
<p>${escapeHtml(q.score.summary)}</p>
<table><tr><th>Criterion</th><th>Score</th><th>Rationale and evidence</th></tr>${q.score.criteria.map(criterionRow).join("")}</table>`
  const signals =
    q.signals === null
      ? ""
      : `<p class="muted">While this question was open: ${q.signals.seconds} s of video, face present ${pct(q.signals.facePresence)}${q.signals.dominant === null ? "" : `, mostly ${q.signals.dominant}`}${q.signals.blinksPerMinute === null ? "" : `, ${num(q.signals.blinksPerMinute)} blinks/min`}.</p>`
  return `<section class="q"><h3>${q.index + 1}. ${escapeHtml(q.prompt)} ${statusTag}</h3>${answer}${reason}${score}${signals}</section>`
}

const timelineSvg = (points: ReadonlyArray<TimelinePoint>): string => {
  if (points.length === 0) return `<p class="muted">No video was analysed.</p>`
  const first = points[0]!.second
  const span = Math.max(1, points[points.length - 1]!.second - first + 1)
  const width = 900
  const x = (second: number) => ((second - first) / span) * width
  const step = width / span
  const bands = points
    .filter((p) => p.dominant !== null)
    .map(
      (p) =>
        `<rect x="${x(p.second).toFixed(1)}" y="0" width="${Math.max(step, 0.5).toFixed(2)}" height="14" fill="${emotionColours[p.dominant!]}"/>`
    )
    .join("")
  const line = points
    .map((p) => `${(x(p.second) + step / 2).toFixed(1)},${(100 - p.facePresence * 80).toFixed(1)}`)
    .join(" ")
  const boundaries: Array<string> = []
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.questionId !== points[i - 1]!.questionId) {
      boundaries.push(
        `<line x1="${x(points[i]!.second).toFixed(1)}" x2="${x(points[i]!.second).toFixed(1)}" y1="16" y2="104" stroke="#bbb" stroke-dasharray="3 3"/>`
      )
    }
  }
  const legend =
    bands.length === 0
      ? ""
      : ` Coloured band: dominant expression per second (${EMOTIONS.map((e) => `<span style="color:${emotionColours[e]}">■</span> ${e}`).join(", ")}).`
  return `<svg viewBox="0 0 ${width} 108" width="100%" role="img" aria-label="Face presence per second">
<rect x="0" y="20" width="${width}" height="84" fill="#fafafa"/>${bands}${boundaries.join("")}
<polyline fill="none" stroke="#1d1d1f" stroke-width="1.2" points="${line}"/></svg>
<p class="muted">${span} s from second ${first}. Line: share of frames with a face (top = 100 %). Dashed: question changes.${legend}</p>`
}

/** Renders `report` as a complete HTML document. */
export const reportHtml = (report: Report): string => {
  const o = report.overall
  const components = o.components
    .map(
      (c) =>
        `<tr><td>${c.signal}</td><td>${num(c.value)}</td><td>${c.weight}</td><td>${pct(c.share)}</td><td class="muted">${escapeHtml(c.basis)}</td></tr>`
    )
    .join("")
  const affect =
    report.affect === null
      ? `<p class="muted">${report.affectNotUsed === "candidate_declined" ? "Affect signals (emotion, blinks) were not used: the candidate did not consent to affect analysis." : report.affectSignals ? "No affect signals were recorded." : "Affect signals (emotion, blinks) were off for this interview."}</p>`
      : `<p>Dominant expression: <b>${report.affect.dominant}</b> · blinks: ${report.affect.blinks}${report.affect.blinksPerMinute === null ? "" : ` (${num(report.affect.blinksPerMinute)} per minute)`}</p>${emotionBars(report.affect.emotion)}
<p class="muted">Expressions and blinks describe a face on camera, not ability, honesty or fit.</p>`
  const attention =
    report.attention === null
      ? `<p class="muted">No video was analysed.</p>`
      : `<p>Face present in ${pct(report.attention.facePresence)} of ${report.attention.frames} frames over ${report.attention.seconds} s${report.attention.multipleFaces === null ? "" : `; more than one face in ${pct(report.attention.multipleFaces, 1)}`}.</p>`
  const keyframes =
    report.keyframes.length === 0
      ? `<p class="muted">None.</p>`
      : `<ul>${report.keyframes
          .map((k) => {
            const label = `${escapeHtml(k.kind)} · ${escapeHtml(k.createdAt)}`
            return `<li>${k.url === null ? label : `<a href="${escapeHtml(k.url)}">${label}</a>`}</li>`
          })
          .join("")}</ul>`
  const scorers =
    report.models.scorers.length === 0
      ? `<p class="muted">No answer has been scored yet.</p>`
      : `<table><tr><th>Scorer</th><th>Model</th><th>Prompt</th><th>Temperature</th></tr>${report.models.scorers
          .map(
            (s) =>
              `<tr><td>${escapeHtml(s.label)}</td><td>${escapeHtml(s.model)}</td><td>${escapeHtml(s.promptVersion)}</td><td>${s.temperature}</td></tr>`
          )
          .join("")}</table>`
  const vision =
    report.models.vision === null
      ? ""
      : `<p>Face models from ${escapeHtml(report.models.vision.source)} (${escapeHtml(report.models.vision.converter)}):</p><table>${report.models.vision.models
          .map((m) => `<tr><td>${escapeHtml(m.name)}</td><td><code>${escapeHtml(m.sha256)}</code></td></tr>`)
          .join("")}</table>`
  const transcription =
    report.models.transcription.length === 0
      ? ""
      : `<p>Transcription: ${report.models.transcription.map(escapeHtml).join(", ")}</p>`
  const reviews =
    report.reviews.length === 0
      ? `<p class="muted">No review yet.</p>`
      : `<table><tr><th>Reviewer</th><th>Decision</th><th>Rating</th><th>Notes</th><th>When</th></tr>${report.reviews
          .map(
            (r) =>
              `<tr><td>${escapeHtml(r.reviewer)}</td><td><b>${r.decision}</b></td><td>${r.rating ?? "—"}</td><td class="answer">${escapeHtml(r.notes)}</td><td>${escapeHtml(r.createdAt)}</td></tr>`
          )
          .join("")}</table>`
  const s = report.scoring
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Interview report: ${escapeHtml(report.candidate.name)}</title><style>${style}</style></head>
<body>
<h1>Interview report: ${escapeHtml(report.candidate.name)}</h1>
<p class="muted">Interview ${escapeHtml(report.interviewId)} · ${report.status} · created ${escapeHtml(report.createdAt)}${report.finishedAt === null ? "" : ` · finished ${escapeHtml(report.finishedAt)}`} · ${report.complete ? "complete" : "<b>not complete</b>"}</p>
<p class="notice"><b>${escapeHtml(report.humanDecision)}</b></p>
<h2>Overall</h2>
<p><span class="big">${num(o.score)}</span> / 100 ${o.provisional ? `<span class="tag warn">provisional</span>` : ""} · weights: ${o.weightsSource}</p>
<p>Signals used: ${report.signalsUsed.join(", ")} · answers: ${s.answered} given, ${s.scored} scored, ${s.pending} pending, ${s.failed} failed, ${s.unanswered} unanswered</p>
<table><tr><th>Signal</th><th>Value</th><th>Weight</th><th>Share</th><th>Basis</th></tr>${components}</table>
${o.notes.map((n) => `<p class="muted">${escapeHtml(n)}</p>`).join("")}
<h2>Answers</h2>
${report.questions.map(questionSection).join("\n")}
<h2>Attention and affect</h2>
${attention}${affect}
<h2>Timeline</h2>
${timelineSvg(report.timeline)}
<h2>Keyframes</h2>
${keyframes}
<h2>Models</h2>
${scorers}${transcription}${vision}
<h2>Human reviews</h2>
${reviews}
<p class="muted">Report format ${report.reportVersion}.</p>
</body></html>
`
}
