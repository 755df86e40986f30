/**
 * `/docs`: a self-contained page that renders `/v1/openapi.json` (no CDN, no external script or font), so the
 * reference works on an air-gapped deployment.
 */
export const docsPage = (specUrl: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Candor API reference</title>
<style>
  :root { --fg:#1d232a; --muted:#5d6b78; --line:#dde3e8; --bg:#f7f9fa; --accent:#2456a6; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:#fff; }
  header { padding:24px 32px; border-bottom:1px solid var(--line); background:var(--bg); }
  h1 { margin:0 0 4px; font-size:22px; }
  main { max-width:1000px; margin:0 auto; padding:16px 32px 64px; }
  .op { border:1px solid var(--line); border-radius:8px; margin:12px 0; overflow:hidden; }
  .op > summary { cursor:pointer; padding:10px 14px; display:flex; gap:12px; align-items:center; list-style:none; }
  .op > summary::-webkit-details-marker { display:none; }
  .m { font:600 12px ui-monospace, monospace; padding:3px 8px; border-radius:4px; color:#fff; min-width:64px; text-align:center; }
  .get{background:#2f7d4f}.post{background:#2456a6}.delete{background:#b33a3a}.put,.patch{background:#9a6a12}
  .path { font-family: ui-monospace, monospace; font-weight:600; }
  .sum { color:var(--muted); }
  .body { padding:4px 16px 16px; border-top:1px solid var(--line); background:#fcfdfd; }
  h3 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:16px 0 6px; }
  table { border-collapse:collapse; width:100%; font-size:14px; }
  td, th { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
  code, pre { font-family: ui-monospace, monospace; font-size:13px; }
  pre { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:10px; overflow:auto; max-height:420px; }
  .tag { margin-top:32px; font-size:18px; }
  .lock { font-size:12px; color:var(--muted); }
</style>
</head>
<body>
<header><h1 id="title">Candor API</h1><div id="desc" class="sum">Loading <code>${specUrl}</code>…</div></header>
<main id="ops"></main>
<script>
(async () => {
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
    for (const k of kids) e.append(k)
    return e
  }
  const res = await fetch(${JSON.stringify(specUrl)})
  const spec = await res.json()
  const defs = spec.components?.schemas ?? {}
  const resolve = (s, depth = 0) => {
    if (!s || depth > 8) return s
    if (s.$ref) return resolve(defs[s.$ref.split("/").pop()], depth + 1)
    const out = Array.isArray(s) ? [] : {}
    for (const [k, v] of Object.entries(s)) out[k] = typeof v === "object" && v !== null ? resolve(v, depth + 1) : v
    return out
  }
  document.getElementById("title").textContent = spec.info.title + " " + spec.info.version
  document.getElementById("desc").textContent = spec.info.description
  const byTag = {}
  for (const [path, ops] of Object.entries(spec.paths))
    for (const [method, op] of Object.entries(ops)) (byTag[op.tags?.[0] ?? "other"] ??= []).push({ path, method, op })
  const main = document.getElementById("ops")
  for (const [tag, ops] of Object.entries(byTag)) {
    main.append(el("h2", { class: "tag" }, tag))
    for (const { path, method, op } of ops) {
      const body = el("div", { class: "body" })
      if (op.parameters?.length) {
        const t = el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "description")))
        for (const p of op.parameters)
          t.append(el("tr", {}, el("td", {}, el("code", {}, p.name + (p.required ? " *" : ""))), el("td", {}, p.in),
            el("td", {}, el("code", {}, p.schema?.type ?? (p.schema?.enum ? p.schema.enum.join(" | ") : "string"))), el("td", {}, p.description ?? "")))
        body.append(el("h3", {}, "Parameters"), t)
      }
      const rb = op.requestBody?.content?.["application/json"]?.schema
      if (rb) body.append(el("h3", {}, "Request body (JSON)"), el("pre", {}, JSON.stringify(resolve(rb), null, 2)))
      body.append(el("h3", {}, "Responses"))
      for (const [status, r] of Object.entries(op.responses)) {
        const content = r.content && Object.entries(r.content)[0]
        body.append(el("div", {}, el("strong", {}, status + " "), r.description + (content ? " (" + content[0] + ")" : "")))
        if (content && content[1].schema && status.startsWith("2"))
          body.append(el("pre", {}, JSON.stringify(resolve(content[1].schema), null, 2)))
      }
      const lock = op.security?.length ? el("span", { class: "lock" }, "API key") : ""
      main.append(el("details", { class: "op" },
        el("summary", {}, el("span", { class: "m " + method }, method.toUpperCase()), el("span", { class: "path" }, path),
          el("span", { class: "sum" }, op.summary ?? ""), lock), body))
    }
  }
})().catch((e) => { document.getElementById("desc").textContent = "Could not load the API description: " + e })
</script>
</body>
</html>
`
