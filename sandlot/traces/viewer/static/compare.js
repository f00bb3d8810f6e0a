// sandlot viewer: two episodes side by side (first difference marked) and search.
"use strict";

function episodeCard(e, label) {
  return el("div", { class: "card" }, el("h3", {}, label, " ", el("a", { href: route("episode", e.id) }, e.id)),
    meta(["task", e.task_id], ["outcome", outcome(e.outcome, e.end_reason)], ["score", fmt(e.score)], ["model", e.model],
      ["run", el("a", { href: route("run", e.run_id) }, e.run_id)]));
}

function actionCell(epId, x) {
  if (!x) return el("td", { class: "muted" }, "(nothing: this episode stopped)");
  return el("td", { class: statusClass(x.status) }, el("span", { class: "badge kind-" + (x.kind === "model" ? "model_call" : "tool_call") }, x.kind), " ",
    el("a", { href: withQuery(route("episode", epId), { seq: x.seq }) }, x.text));
}

async function pageCompare(a, b) {
  crumbs(["runs", "#/"], ["compare", null]);
  const data = await api(`compare/${enc(a)}/${enc(b)}`);
  if (!data) return show(el("h2", {}, "Compare"), el("p", { class: "bad" }, `No episode ${a} or ${b} in this trace.`));
  const d = data.first_difference;
  const summary = d === null
    ? el("p", { id: "first-diff", class: "ok" }, `The two episodes made the same ${fmt(data.n_a)} model and tool calls.`)
    : el("p", { id: "first-diff", class: "warn" }, `They first differ at action ${d + 1}: ${data.difference}.`);
  const rows = data.rows.map((r) => el("tr", { class: r.index === d ? "diff" : r.same ? "same" : "differs", "data-index": r.index },
    el("td", { class: "num" }, r.index === d ? el("b", {}, "≠ " + (r.index + 1)) : String(r.index + 1)),
    actionCell(data.a.id, r.a), actionCell(data.b.id, r.b)));
  const shown = data.rows.length ? `actions ${fmt(data.start + 1)}–${fmt(data.start + data.rows.length)} shown; ` : "";
  show(el("h2", {}, "Compare two episodes"), el("div", { class: "cols" }, episodeCard(data.a, "A"), episodeCard(data.b, "B")), summary,
    el("p", { class: "muted small" }, `${shown}A made ${fmt(data.n_a)} calls, B made ${fmt(data.n_b)}. Call ids, timings and tokens are not compared.`),
    el("table", { id: "compare-table", class: "grid compare" }, el("thead", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "A"), el("th", {}, "B"))),
      el("tbody", {}, rows)));
  const marked = app.querySelector("tr.diff");
  if (marked) marked.scrollIntoView({ block: "center" });
}

// The excerpt with every occurrence of the query in a <mark> (text nodes only).
function highlighted(text, query) {
  const out = [], lower = text.toLowerCase(), q = query.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(q); q && i >= 0; i = lower.indexOf(q, i + q.length)) {
    out.push(text.slice(at, i), el("mark", {}, text.slice(i, i + q.length)));
    at = i + q.length;
  }
  out.push(text.slice(at));
  return out;
}

async function pageSearch(params) {
  const q = params.get("q") || "", run = params.get("run") || "", kind = params.get("kind") || "";
  crumbs(["runs", "#/"], ["search", null]);
  const box = document.getElementById("search");
  if (box) box.value = q;
  const [runs, hits] = await Promise.all([api("runs"), q.trim() ? api("search?" + new URLSearchParams({ q, run, kind })) : { rows: [], more: false }]);
  const go = (patch) => { location.hash = withQuery("#/search", { q, run, kind, ...patch }); };
  const filters = el("div", { class: "filters" },
    el("select", { "aria-label": "run", onchange: (e) => go({ run: e.target.value }) }, [["", "all runs"], ...runs.map((r) => [r.id, r.id])]
      .map(([v, label]) => { const o = el("option", { value: v }, label); if (v === run) o.selected = true; return o; })),
    el("select", { "aria-label": "kind", onchange: (e) => go({ kind: e.target.value }) }, [["", "any kind"], ...["model_call", "tool_call", "plan", "retrieval", "check", "answer", "error"].map((k) => [k, k])]
      .map(([v, label]) => { const o = el("option", { value: v }, label); if (v === kind) o.selected = true; return o; })));
  // Hits grouped by episode, each episode with its outcome; the free text is marked.
  const text = (hits.query && hits.query.text) || "";
  const list = el("ul", { id: "results", class: "results" }, (hits.groups || []).map((g) => el("li", { class: "hit-group", "data-episode": g.episode_id },
    el("div", { class: "hit-episode" }, g.hits.length ? el("b", {}, `${g.task_id} · ${g.episode_id}`) : el("a", { href: route("episode", g.episode_id) }, `${g.task_id} · ${g.episode_id}`), " ", outcome(g.outcome),
      el("span", { class: "muted small" }, ` · run ${g.run_id}` + (g.hits.length ? ` · ${g.hits.length} event${g.hits.length > 1 ? "s" : ""}` : ""))),
    g.hits.length ? el("div", { class: "hits" }, g.hits.map((h) => el("div", { class: "hit" },
      el("a", { href: withQuery(route("episode", h.episode_id), { seq: h.seq }) }, `#${h.seq}`), " ",
      kindBadge(h.kind), " ", el("b", {}, h.name), el("div", { class: "excerpt" }, text ? highlighted(h.excerpt || "", text) : h.excerpt || "")))) : null)));
  const found = hits.rows.length && hits.rows[0].seq === null ? "episodes" : "events";
  show(el("h2", {}, "Search"), filters,
    el("p", { class: "muted" }, q.trim() ? `${hits.rows.length}${hits.more ? "+" : ""} ${found} in ${(hits.groups || []).length} episodes match “${q}”` : "Type in the search box above."),
    el("p", { class: "muted small" }, "Narrow with tool:NAME (calls of that tool), args:TEXT (in a tool call's arguments), failed:CHECK (episodes whose check CHECK failed)."),
    list, hits.more ? el("p", { class: "muted" }, "More events match; narrow the search by run or kind.") : null);
}
