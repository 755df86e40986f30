/**
 * The report as one HTML page for recruiters, served under a strict Content-Security-Policy: styles come from
 * `/assets/report.css`, charts are inline SVG (presentation attributes, no `style`), keyframes and heat-maps are
 * `<img>` from the report's own media routes, answer recordings a `<video>` next to their answer, and the only script, `/assets/report.js`, enables the review form
 * (the page reads completely without it). Every value from the report is escaped; answers are shown verbatim.
 */
import type { CriterionScore } from "../../schemas/AnswerScore.ts"
import { EMOTIONS } from "../../schemas/Emotions.ts"
import type { EmotionScores } from "../../schemas/FrameAnalysis.ts"
import type { Keyframe, QuestionReport, QuestionSignals, Report, TimelinePoint } from "../../schemas/Report.ts"

const escapeHtml = (value: unknown): string =>
  String(value)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;")

const pct = (x: number | null, digits = 0): string => (x === null ? "—" : `${(x * 100).toFixed(digits)} %`)
const num = (x: number | null, digits = 1): string => (x === null ? "—" : x.toFixed(digits))

/** Colours of expressions; each is dark enough to read as text on white (contrast ≥ 4.5:1). */
const emotionColours: Readonly<Record<string, string>> = {
  angry: "#b71c1c",
  disgust: "#6d4c41",
  fear: "#6a3d9a",
  happy: "#1b7a1b",
  sad: "#1f5fa8",
  surprise: "#b45309",
  neutral: "#5f6368"
}

/** A small square of `colour`, for legends (an SVG attribute, not a style). */
const swatch = (colour: string): string =>
  `<svg class="swatch" width="10" height="10" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" fill="${colour}"/></svg>`

interface Bar {
  readonly label: string
  /** Position on the chart's scale; null draws no bar. */
  readonly value: number | null
  readonly text: string
  readonly colour: string
  /** An optional range drawn as a whisker (e.g. the samples' min–max). */
  readonly range?: readonly [number, number]
}

/**
 * A horizontal bar chart: one row per bar with its label, the bar as inline SVG (attributes only, no `style`) and
 * its value as text, laid out by the stylesheet so it stays readable from 320 px up. Each row is labelled for
 * screen readers by its text; the bars themselves are decoration.
 */
const barChart = (title: string, bars: ReadonlyArray<Bar>, scale: { readonly min: number; readonly max: number }) => {
  const x = (v: number) => ((Math.min(scale.max, Math.max(scale.min, v)) - scale.min) / (scale.max - scale.min)) * 100
  const rows = bars
    .map((b) => {
      const bar =
        b.value === null
          ? ""
          : `<rect x="0" y="0" width="${Math.max(0.5, x(b.value)).toFixed(2)}" height="10" fill="${b.colour}"/>`
      const whisker =
        b.range === undefined || b.range[0] === b.range[1]
          ? ""
          : `<line x1="${x(b.range[0]).toFixed(2)}" x2="${x(b.range[1]).toFixed(2)}" y1="5" y2="5" stroke="#1d1d1f" stroke-width="2" vector-effect="non-scaling-stroke"/>`
      return `<li><span class="bar-label">${escapeHtml(b.label)}</span><svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect x="0" y="0" width="100" height="10" fill="#e3e6ea"/>${bar}${whisker}</svg><span class="bar-value">${escapeHtml(b.text)}</span></li>`
    })
    .join("")
  return `<ul class="bars chart" aria-label="${escapeHtml(title)}">${rows}</ul>`
}

const emotionChart = (title: string, e: EmotionScores): string =>
  barChart(
    title,
    EMOTIONS.map((label) => ({ label, value: e[label], text: pct(e[label], 1), colour: emotionColours[label]! })),
    { min: 0, max: 1 }
  )

const criterionChart = (q: QuestionReport): string =>
  q.score === null || q.score.criteria.length === 0
    ? ""
    : `<figure class="figure">${barChart(
        `Criterion scores of question ${q.index + 1}, 1 to 5`,
        q.score.criteria.map((c) => ({
          label: c.name,
          value: c.score,
          text: `${num(c.score, 2)} / 5`,
          colour: "#2f5d9e",
          range: [c.spread.min, c.spread.max] as const
        })),
        { min: 0, max: 5 }
      )}<figcaption class="muted">Bars: mean rating per criterion on the 1–5 scale; black line: lowest to highest of the gradings.</figcaption></figure>`

const criterionRow = (c: CriterionScore): string => {
  const evidence =
    c.evidence.length === 0
      ? `<p class="muted">No quoted evidence.</p>`
      : c.evidence.map((q) => `<blockquote>${escapeHtml(q)}</blockquote>`).join("")
  const flagged = c.flagged === undefined ? "" : `<p class="tag warn">check: ${escapeHtml(c.flagged)}</p>`
  return `<tr><th scope="row">${escapeHtml(c.name)}<div class="muted">weight ${c.weight}</div></th>
<td data-label="Score"><b>${num(c.score, 2)}</b> / 5<div class="muted">sd ${num(c.spread.stddev, 2)}, ${c.spread.min}–${c.spread.max}</div></td>
<td data-label="Rationale and evidence">${escapeHtml(c.rationale)}${flagged}${evidence}</td></tr>`
}

const liveSignals = (signals: QuestionSignals): string =>
  `<p class="muted">While this question was open: ${signals.seconds} s of video, face present ${pct(signals.facePresence)}${signals.dominant === null ? "" : `, mostly ${signals.dominant}`}${signals.blinksPerMinute === null ? "" : `, ${num(signals.blinksPerMinute)} blinks/min`}.</p>`

/** Signals of the video uploaded for the question, with its expression chart when affect signals were used. */
const uploadSignals = (q: QuestionReport): string => {
  const s = q.signals!
  const multiple =
    s.multipleFaces === undefined || s.multipleFaces === null
      ? ""
      : `, more than one face in ${pct(s.multipleFaces, 1)}`
  const blinks =
    s.blinks === undefined || s.blinks === null
      ? ""
      : `, ${s.blinks} blinks${s.blinksPerMinute === null ? "" : ` (${num(s.blinksPerMinute)} per minute)`}`
  const chart =
    s.emotion === null
      ? ""
      : `<figure class="figure">${emotionChart(`Expressions in the uploaded video of question ${q.index + 1}`, s.emotion)}<figcaption class="muted">Mean expression distribution over the video's frames with a face.</figcaption></figure>`
  return `<div class="upload-signals" data-testid="upload-signals"><p>From the uploaded video: <b data-testid="upload-frames">${s.frames ?? 0}</b> frames analysed over ${s.seconds} s, face present in ${pct(s.facePresence)}${multiple}${s.dominant === null ? "" : `, mostly ${s.dominant}`}${blinks}.</p>${chart}</div>`
}

/** The answer's recording (recorded-mode interviews), played next to its transcript and scores. */
const recordingPlayer = (q: QuestionReport, recording: Keyframe | undefined): string =>
  recording === undefined || recording.url === null
    ? ""
    : `<figure class="recording"><video controls preload="metadata" src="${escapeHtml(recording.url)}" data-testid="recording" aria-label="Recording of the answer to question ${q.index + 1}" width="480" height="360"></video><figcaption class="muted">Recording of the answer to question ${q.index + 1} (video with sound, ${(recording.bytes / (1024 * 1024)).toFixed(1)} MB) · <a href="${escapeHtml(recording.url)}">download</a></figcaption></figure>`

const recordingOf = (report: Report, q: QuestionReport): Keyframe | undefined =>
  report.keyframes.find((k) => k.kind === "recording" && k.detail.questionId === q.questionId)

const questionSection = (q: QuestionReport, recording?: Keyframe): string => {
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
      : `<p data-testid="question-score"><span class="big">${num(q.score.overall)}</span> / 100 · scorer: <b>${escapeHtml(q.score.label)}</b> · confidence ${pct(q.score.confidence)} · ${q.score.samples} of ${q.score.samplesRequested} gradings · ${q.score.rubricSource === "default" ? "default rubric" : "question's rubric"}</p>
<p>${escapeHtml(q.score.summary)}</p>
${criterionChart(q)}
<div class="scroll"><table class="cards"><caption class="visually-hidden">Criteria of question ${q.index + 1}</caption><tr><th scope="col">Criterion</th><th scope="col">Score</th><th scope="col">Rationale and evidence</th></tr>${q.score.criteria.map(criterionRow).join("")}</table></div>`
  const signals = q.signals === null ? "" : q.signals.source === "upload" ? uploadSignals(q) : liveSignals(q.signals)
  return `<section class="q" aria-labelledby="q-${q.index}"><h3 id="q-${q.index}">${q.index + 1}. ${escapeHtml(q.prompt)} ${statusTag}</h3>${recordingPlayer(q, recording)}${answer}${reason}${score}${signals}</section>`
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
        `<line x1="${x(points[i]!.second).toFixed(1)}" x2="${x(points[i]!.second).toFixed(1)}" y1="16" y2="104" stroke="#767676" stroke-dasharray="3 3"/>`
      )
    }
  }
  const legend =
    bands.length === 0
      ? ""
      : ` Coloured band: dominant expression per second (${EMOTIONS.map((e) => `${swatch(emotionColours[e]!)} ${e}`).join(", ")}).`
  return `<figure class="figure"><svg class="chart" data-testid="timeline" viewBox="0 0 ${width} 108" role="img" aria-label="Face presence per second over ${span} seconds">
<rect x="0" y="20" width="${width}" height="84" fill="#f4f5f7"/>${bands}${boundaries.join("")}
<polyline fill="none" stroke="#1d1d1f" stroke-width="1.2" points="${line}"/></svg>
<figcaption class="muted">${span} s from second ${first}. Line: share of frames with a face (top = 100 %). Dashed: question changes.${legend}</figcaption></figure>`
}

const seqOf = (k: Keyframe): string => {
  const seq = k.detail.seq
  return typeof seq === "number" || typeof seq === "string" ? String(seq) : k.key
}

/** Keyframes with the heat-map taken from the same frame next to each, shown inline. */
const keyframeGallery = (report: Report): string => {
  if (report.keyframes.every((k) => k.kind === "recording")) return `<p class="muted">None.</p>`
  const heatmaps = new Map<string, Keyframe>()
  for (const k of report.keyframes) if (k.kind === "heatmap") heatmaps.set(seqOf(k), k)
  const frames = report.keyframes.filter((k) => k.kind !== "heatmap" && k.kind !== "recording")
  const paired = new Set<Keyframe>()
  const image = (k: Keyframe, alt: string, heatmap: boolean) =>
    k.url === null
      ? `<p class="muted">${escapeHtml(alt)} (not available)</p>`
      : `<a href="${escapeHtml(k.url)}"><img src="${escapeHtml(k.url)}" alt="${escapeHtml(alt)}" loading="lazy" width="320" height="240"${heatmap ? ` data-testid="heatmap"` : ""}></a>`
  const reasonOf = (k: Keyframe) => (typeof k.detail.reason === "string" ? k.detail.reason : k.kind)
  const items = frames.map((k) => {
    const seq = seqOf(k)
    const heat = heatmaps.get(seq)
    if (heat !== undefined) paired.add(heat)
    const when = escapeHtml(k.createdAt)
    return `<li class="keyframe"><figure>${image(k, `Video frame ${seq} (${reasonOf(k)})`, false)}${
      heat === undefined
        ? ""
        : image(heat, `Heat-map of frame ${seq}: the face regions that drove the expression reading`, true)
    }<figcaption class="muted">Frame ${escapeHtml(seq)} · ${escapeHtml(reasonOf(k))} · ${when}</figcaption></figure></li>`
  })
  for (const h of heatmaps.values()) {
    if (paired.has(h)) continue
    const seq = seqOf(h)
    items.push(
      `<li class="keyframe"><figure>${image(h, `Heat-map of frame ${seq}: the face regions that drove the expression reading`, true)}<figcaption class="muted">Heat-map · frame ${escapeHtml(seq)} · ${escapeHtml(h.createdAt)}</figcaption></figure></li>`
    )
  }
  const note =
    heatmaps.size === 0
      ? ""
      : `<p class="muted">Heat-maps show where on the face the expression model looked; they describe a face on camera, not ability.</p>`
  return `${note}<ul class="gallery">${items.join("")}</ul>`
}

const reviewForm = (
  report: Report
): string => `<form id="review-form" class="review-form" data-interview="${escapeHtml(report.interviewId)}" action="/v1/interviews/${escapeHtml(report.interviewId)}/reviews" method="post" novalidate>
<fieldset id="review-fields" disabled>
<legend>Add your decision</legend>
<p id="review-needs" class="muted">Adding a decision needs a signed-in session in the recruiter console and JavaScript; the report reads fully without them.</p>
<div class="field"><label for="reviewer">Reviewer (your name or email)</label><input id="reviewer" name="reviewer" required maxlength="200" autocomplete="name"></div>
<div class="field"><label for="decision">Decision</label><select id="decision" name="decision" data-testid="decision" required>
<option value="">Choose…</option><option value="advance">Advance</option><option value="hold">Hold</option><option value="reject">Reject</option></select></div>
<div class="field"><label for="rating">Rating (optional)</label><select id="rating" name="rating"><option value="">No rating</option><option value="1">1 (weakest)</option><option value="2">2</option><option value="3">3</option><option value="4">4</option><option value="5">5 (strongest)</option></select></div>
<div class="field"><label for="notes">Note</label><textarea id="notes" name="notes" rows="4" maxlength="10000"></textarea></div>
<button type="submit" data-testid="submit-review">Save decision</button>
</fieldset>
<p id="review-status" role="status" aria-live="polite"></p>
</form>`

/** Renders `report` as a complete HTML document. */
export const reportHtml = (report: Report): string => {
  const o = report.overall
  const components = o.components
    .map(
      (c) =>
        `<tr><th scope="row">${c.signal}</th><td data-label="Value">${num(c.value)}</td><td data-label="Weight">${c.weight}</td><td data-label="Share">${pct(c.share)}</td><td data-label="Basis" class="muted">${escapeHtml(c.basis)}</td></tr>`
    )
    .join("")
  const componentChart = barChart(
    "Overall score components, 0 to 100",
    o.components.map((c) => ({
      label: `${c.signal} (${pct(c.share)} of score)`,
      value: c.value,
      text: c.value === null ? "not available" : `${num(c.value)} / 100`,
      colour: "#2f5d9e"
    })),
    { min: 0, max: 100 }
  )
  const affect =
    report.affect === null
      ? `<p class="muted">${report.affectNotUsed === "candidate_declined" ? "Affect signals (emotion, blinks) were not used: the candidate did not consent to affect analysis." : report.affectSignals ? "No affect signals were recorded." : "Affect signals (emotion, blinks) were off for this interview."}</p>`
      : `<p>Dominant expression: <b>${report.affect.dominant}</b> · blinks: ${report.affect.blinks}${report.affect.blinksPerMinute === null ? "" : ` (${num(report.affect.blinksPerMinute)} per minute)`}</p><figure class="figure">${emotionChart("Mean expression distribution over frames with a face", report.affect.emotion)}<figcaption class="muted">Mean expression distribution over frames with a face.</figcaption></figure>
<p class="muted">Expressions and blinks describe a face on camera, not ability, honesty or fit.</p>`
  const attention =
    report.attention === null
      ? `<p class="muted">No video was analysed.</p>`
      : `<p>Face present in ${pct(report.attention.facePresence)} of ${report.attention.frames} frames over ${report.attention.seconds} s${report.attention.multipleFaces === null ? "" : `; more than one face in ${pct(report.attention.multipleFaces, 1)}`}.</p>`
  const scorers =
    report.models.scorers.length === 0
      ? `<p class="muted">No answer has been scored yet.</p>`
      : `<div class="scroll"><table><tr><th scope="col">Scorer</th><th scope="col">Model</th><th scope="col">Prompt</th><th scope="col">Temperature</th></tr>${report.models.scorers
          .map(
            (s) =>
              `<tr><td>${escapeHtml(s.label)}</td><td>${escapeHtml(s.model)}</td><td>${escapeHtml(s.promptVersion)}</td><td>${s.temperature}</td></tr>`
          )
          .join("")}</table></div>`
  const vision =
    report.models.vision === null
      ? ""
      : `<p>Face models from ${escapeHtml(report.models.vision.source)} (${escapeHtml(report.models.vision.converter)}):</p><div class="scroll"><table>${report.models.vision.models
          .map(
            (m) => `<tr><th scope="row">${escapeHtml(m.name)}</th><td><code>${escapeHtml(m.sha256)}</code></td></tr>`
          )
          .join("")}</table></div>`
  const transcription =
    report.models.transcription.length === 0
      ? ""
      : `<p>Transcription: ${report.models.transcription.map(escapeHtml).join(", ")}</p>`
  const latest = report.reviews.length === 0 ? undefined : report.reviews[report.reviews.length - 1]
  const reviews =
    report.reviews.length === 0
      ? `<p class="muted">No review yet.</p>`
      : `<p data-testid="latest-decision">Latest decision: <b>${latest!.decision}</b> by ${escapeHtml(latest!.reviewer)}</p><div class="scroll"><table data-testid="reviews"><tr><th scope="col">Reviewer</th><th scope="col">Decision</th><th scope="col">Rating</th><th scope="col">Notes</th><th scope="col">When</th></tr>${report.reviews
          .map(
            (r) =>
              `<tr><td>${escapeHtml(r.reviewer)}</td><td><b>${r.decision}</b></td><td>${r.rating ?? "—"}</td><td class="answer">${escapeHtml(r.notes)}</td><td>${escapeHtml(r.createdAt)}</td></tr>`
          )
          .join("")}</table></div>`
  const s = report.scoring
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Interview report: ${escapeHtml(report.candidate.name)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/report.css">
<script type="module" src="/assets/report.js"></script></head>
<body>
<main data-testid="report" data-interview="${escapeHtml(report.interviewId)}">
<p class="back"><a href="/">← Recruiter console</a></p>
<h1>Interview report: ${escapeHtml(report.candidate.name)}</h1>
<p class="muted">Interview ${escapeHtml(report.interviewId)} · ${report.status} · created ${escapeHtml(report.createdAt)}${report.finishedAt === null ? "" : ` · finished ${escapeHtml(report.finishedAt)}`} · ${report.complete ? "complete" : "<b>not complete</b>"}</p>
<p class="notice"><b>${escapeHtml(report.humanDecision)}</b></p>
<section aria-labelledby="h-overall"><h2 id="h-overall">Overall</h2>
<p data-testid="overall-score"><span class="big">${num(o.score)}</span> / 100 ${o.provisional ? `<span class="tag warn">provisional</span>` : ""} · weights: ${o.weightsSource}</p>
<p data-testid="signals-used">Signals used: ${report.signalsUsed.join(", ")} · answers: ${s.answered} given, ${s.scored} scored, ${s.pending} pending, ${s.failed} failed, ${s.unanswered} unanswered</p>
<figure class="figure">${componentChart}<figcaption class="muted">Each signal on a 0–100 scale; its share is what it carries of the overall score.</figcaption></figure>
<div class="scroll"><table class="cards"><caption class="visually-hidden">How the overall score is made</caption><tr><th scope="col">Signal</th><th scope="col">Value</th><th scope="col">Weight</th><th scope="col">Share</th><th scope="col">Basis</th></tr>${components}</table></div>
${o.notes.map((n) => `<p class="muted">${escapeHtml(n)}</p>`).join("")}</section>
<section aria-labelledby="h-answers"><h2 id="h-answers">Answers</h2>
${report.questions.map((q) => questionSection(q, recordingOf(report, q))).join("\n")}</section>
<section aria-labelledby="h-affect"><h2 id="h-affect">Attention and affect</h2>
${attention}${affect}</section>
<section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>
${timelineSvg(report.timeline)}</section>
<section aria-labelledby="h-keyframes"><h2 id="h-keyframes">Keyframes</h2>
${keyframeGallery(report)}</section>
<section aria-labelledby="h-models"><h2 id="h-models">Models</h2>
${scorers}${transcription}${vision}</section>
<section aria-labelledby="h-reviews"><h2 id="h-reviews">Human reviews</h2>
${reviews}
${reviewForm(report)}</section>
<p class="muted">Report format ${report.reportVersion}.</p>
</main>
</body></html>
`
}
