// sandlot viewer: the runs list, and one run's episodes (filtered, sorted and paged by
// the server) with its plots.
"use strict";

const EPISODES_PER_PAGE = 100;

async function pageRuns() {
  crumbs(["runs", null]);
  const runs = await api("runs");
  const head = ["run", "kind", "status", "model", "agent", "started", "wall time", "episodes", "errors", "interrupted", "success", "mean score", "tokens"];
  const picked = new Set();
  const compareBtn = el("button", { id: "compare-runs", type: "button", disabled: true,
    onclick: () => { const [a, b] = [...picked]; location.hash = route("runs-compare", a, b); } }, "compare the 2 selected runs");
  const rows = runs.map((r) => el("tr", { "data-id": r.id },
    el("td", {}, el("input", { type: "checkbox", "aria-label": "select run " + r.id, onchange: (ev) => {
      if (ev.target.checked) picked.add(r.id); else picked.delete(r.id);
      compareBtn.disabled = picked.size !== 2;
    } })),
    el("td", {}, el("a", { href: route("run", r.id) }, r.id)), el("td", {}, r.kind || "run"),
    el("td", { class: "status-" + String(r.status).replace(/[^a-z]/g, "") }, r.status), el("td", {}, r.model), el("td", {}, r.agent),
    el("td", {}, when(r.started)), el("td", {}, isNum(r.ended) && isNum(r.started) ? secs(r.ended - r.started) : "–"),
    el("td", { class: "num" }, fmt(r.episodes)), el("td", { class: "num" }, fmt(r.errors || 0)),
    el("td", { class: "num" }, fmt(r.interrupted || 0)), el("td", { class: "num" }, pct(r.success_rate)), el("td", { class: "num" }, fmt(r.mean_score)), el("td", { class: "num" }, fmt(r.tokens || 0))));
  show(el("h2", {}, "Runs"), runs.length ? [
    el("div", { class: "toolbar" }, compareBtn, el("span", { class: "muted small" }, " tick two runs to compare them task by task")),
    el("table", { id: "runs", class: "grid" },
      el("thead", {}, el("tr", {}, el("th", {}, ""), head.map((h) => el("th", {}, h)))), el("tbody", {}, rows))]
    : emptyTrace());
}

// A trace with no runs: how to make one.
function emptyTrace() {
  return el("div", { id: "no-runs" }, el("p", {}, "This trace file holds no runs yet. Record one into it, then reload this page:"),
    el("pre", { class: "block" }, "sandlot run examples/tasks/store --model oracle --db THIS_FILE\n"
      + "sandlot view THIS_FILE"),
    el("p", { class: "muted small" }, "THIS_FILE is the trace file this viewer was started on. ",
      "Any tasks folder and model work (see docs/cli.md); --epochs and --concurrency run more at once."));
}

// While a run is running its page is drawn again every LIVE_REFRESH_MS (settable with
// ?refresh=MS in the page's address, before the #), until the run ends.
const LIVE_REFRESH_MS = 3000;
function liveRefreshMs() {
  const ms = Number(new URLSearchParams(location.search).get("refresh"));
  return Number.isFinite(ms) && ms >= 10 ? ms : LIVE_REFRESH_MS;
}

// "n of N episodes" (N: tasks × epochs, when the run recorded them) and those not passed.
function runProgress(run) {
  const finished = run.finished || 0, failing = run.not_passed || 0;
  const live = run.status === "running";
  return el("p", { id: "progress", class: live ? "live" : "" },
    live ? el("span", { class: "live-dot", title: "refreshing while the run is running" }, "● live ") : null,
    `${fmt(finished)} of ${isNum(run.expected) && run.expected > 0 ? fmt(run.expected) : fmt(run.episodes || 0)} episodes`,
    live && run.episodes > finished ? ` (${fmt(run.episodes - finished)} running)` : "",
    " · ", el("span", { id: "failing", class: failing ? "bad" : "" }, `${fmt(failing)} not passed`));
}

const EPISODE_COLUMNS = [["task_id", "task"], ["epoch", "epoch"], ["outcome", "outcome"], ["score", "score"],
  ["steps", "steps"], ["model_calls", "model calls"], ["tool_calls", "tool calls"], ["tokens", "tokens"], ["duration", "duration"], ["model", "model"]];

function episodeCells(e) {
  return [el("td", {}, el("a", { href: route("episode", e.id) }, e.task_id), el("div", { class: "muted small" }, e.id)),
    el("td", { class: "num" }, fmt(e.epoch)), el("td", {}, outcome(e.outcome, e.end_reason)),
    el("td", { class: "num" }, fmt(e.score)), el("td", { class: "num" }, fmt(e.steps)),
    el("td", { class: "num" }, fmt(e.model_calls)),
    el("td", { class: "num" }, fmt(e.tool_calls), e.tool_errors ? el("span", { class: "bad" }, ` (${e.tool_errors} err)`) : null),
    el("td", { class: "num" }, fmt(e.tokens)), el("td", { class: "num" }, secs(e.duration)), el("td", {}, e.model),
    el("td", { class: "why small" }, e.why || "")];
}

async function pageRun(runId, params) {
  const mine = routeToken;
  await drawRun(runId, params);
  liveRun(runId, params, mine).catch((err) => { if (!(err instanceof StaleRoute)) console.warn("live refresh stopped:", err); });
}

// Redraw a running run's page until it ends or the reader leaves it (a new route).
async function liveRun(runId, params, mine) {
  const live = () => { const p = document.getElementById("progress"); return p && p.classList.contains("live"); };
  while (live()) {
    await new Promise((done) => setTimeout(done, liveRefreshMs()));
    if (mine !== routeToken) return;
    const y = window.scrollY;
    await drawRun(runId, params);
    window.scrollTo(0, y);
  }
}

async function drawRun(runId, params) {
  const state = { task: params.get("task") || "", outcome: params.get("outcome") || "", model: params.get("model") || "",
    success: params.get("success") || "", sort: params.get("sort") || "started", desc: params.get("desc") === "1",
    offset: Math.max(0, Number(params.get("offset")) || 0) };
  const go = (patch) => { location.hash = withQuery(route("run", runId), { ...state, ...patch, desc: (patch.desc ?? state.desc) ? "1" : "" }); };
  crumbs(["runs", "#/"], ["run " + runId, null]);
  const [run, data] = await Promise.all([api(`runs/${enc(runId)}`),
    api(`runs/${enc(runId)}/episodes?` + new URLSearchParams({ ...state, desc: state.desc ? "1" : "0", limit: EPISODES_PER_PAGE }))]);
  if (!run) return show(el("h2", {}, "No run ", runId), el("p", {}, el("a", { href: "#/" }, "all runs")));

  const select = (name, options) => el("select", { name, "aria-label": name, onchange: (e) => go({ [name]: e.target.value, offset: 0 }) },
    options.map(([value, label]) => { const o = el("option", { value }, label); if (value === state[name]) o.selected = true; return o; }));
  const taskInput = el("input", { name: "task", placeholder: "task id contains…", value: state.task, list: "task-ids", "aria-label": "task" });
  const filters = el("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); go({ task: taskInput.value.trim(), offset: 0 }); } },
    taskInput, el("datalist", { id: "task-ids" }, data.facets.task.map((t) => el("option", { value: t }))),
    select("outcome", [["", "any outcome"], ...data.facets.outcome.map((s) => [s, s.replace(/_/g, " ")])]),
    select("model", [["", "any model"], ...data.facets.model.map((s) => [s, s])]),
    select("success", [["", "succeeded or not"], ["1", "succeeded"], ["0", "failed"]]),
    el("button", { type: "submit" }, "filter"),
    state.task || state.outcome || state.model || state.success ? el("a", { href: route("run", runId) }, "clear filters") : null);

  const picked = new Set();
  const compareBtn = el("button", { id: "compare", type: "button", disabled: true,
    onclick: () => { const [a, b] = [...picked]; location.hash = route("compare", a, b); } }, "compare the 2 selected");
  const head = el("tr", {}, el("th", {}, ""), EPISODE_COLUMNS.map(([key, label]) => el("th", { "aria-sort": state.sort === key ? (state.desc ? "descending" : "ascending") : null },
    el("button", { type: "button", class: "sort", "data-sort": key, onclick: () => go({ sort: key, desc: state.sort === key ? !state.desc : false, offset: 0 }) },
      label + (state.sort === key ? (state.desc ? " ▼" : " ▲") : "")))), el("th", {}, "why"));
  const body = data.rows.map((e) => el("tr", { "data-id": e.id },
    el("td", {}, el("input", { type: "checkbox", "aria-label": "select " + e.id, onchange: (ev) => {
      if (ev.target.checked) picked.add(e.id); else picked.delete(e.id);
      compareBtn.disabled = picked.size !== 2;
    } })), episodeCells(e)));
  const last = Math.min(state.offset + EPISODES_PER_PAGE, data.total);
  const pager = el("p", { class: "pager" }, data.total ? `episodes ${fmt(state.offset + 1)}–${fmt(last)} of ${fmt(data.total)} ` : "no episodes match ",
    state.offset > 0 ? el("button", { type: "button", id: "page-prev", onclick: () => go({ offset: Math.max(0, state.offset - EPISODES_PER_PAGE) }) }, "◀ previous") : null,
    last < data.total ? el("button", { type: "button", id: "page-next", onclick: () => go({ offset: state.offset + EPISODES_PER_PAGE }) }, "next ▶") : null);
  const plots = el("div", { class: "plots", id: "plots" }, el("p", { class: "muted" }, "loading plots…"));
  const statsBox = el("div", { id: "statistics" });
  const wall = isNum(run.ended) && isNum(run.started) ? secs(run.ended - run.started) : "–";
  show(el("h2", {}, "Run ", runId),
    runProgress(run),
    meta(["status", run.status], ["kind", run.kind], ["model", run.model], ["agent", run.agent], ["started", when(run.started)], ["wall time", wall],
      ["episodes", fmt(run.episodes)], ["scored", fmt(run.scored || 0)], ["errors", fmt(run.errors || 0)], ["interrupted", fmt(run.interrupted || 0)],
      ["success", pct(run.success_rate)], ["mean score", fmt(run.mean_score)], ["tokens", fmt(run.tokens || 0)],
      ["replays", run.parent_run ? el("a", { href: route("run", run.parent_run) }, run.parent_run) : null]),
    run.config ? lazyDetails("run config", () => block(run.config)) : null,
    filters, el("div", { class: "toolbar" }, compareBtn, el("span", { class: "muted small" }, " tick two episodes to compare them")),
    el("table", { id: "episodes", class: "grid" }, el("thead", {}, head), el("tbody", {}, body)), pager, statsBox, el("h3", {}, "Plots",
      state.task || state.outcome || state.model || state.success ? el("span", { class: "muted small", id: "plots-filtered" }, " (the filtered episodes)") : null), plots);
  try {
    const filtered = { task: state.task, outcome: state.outcome, model: state.model, success: state.success };
    const stats = await api(`runs/${enc(runId)}/stats?` + new URLSearchParams(filtered));
    statsBox.replaceChildren(...runStatistics(stats.summary));
    plots.replaceChildren(...runPlots(stats));
  } catch (err) { plots.replaceChildren(errorBox(err)); }
}

// The run summary's statistics (sandlot.traces.stats): success rate and mean score with
// their standard error and 95% bootstrap interval, pass@k / pass^k per k when there are
// several epochs, and a row per task tag — all over the scored episodes.
function runStatistics(s) {
  if (!s) return [];
  const score = (x) => (isNum(x) ? x.toFixed(3) : "–");
  const withCi = (x, se, ci, f) => !isNum(x) ? "–" : f(x) + (isNum(se) ? " ± " + f(se) : "")
    + (Array.isArray(ci) && ci.length === 2 ? ` (95% CI ${f(ci[0])}–${f(ci[1])})` : "");
  const rows = [["success", withCi(s.success_rate, s.success_se, s.success_ci, pct)],
    ["mean score", withCi(s.mean_score, s.score_se, s.score_ci, score)]];
  const ks = Object.keys(s.pass_at || {});
  if (ks.length > 1) for (const k of ks) rows.push([`pass@${k} / pass^${k}`, pct(s.pass_at[k]) + " / " + pct((s.pass_hat || {})[k])]);
  const out = [el("h3", {}, "Statistics"), el("table", { id: "run-stats", class: "grid" },
    el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", { class: "num" }, v)))))];
  const tags = Object.entries(s.by_tag || {});
  if (tags.length) out.push(el("h3", {}, "By tag"), el("table", { id: "by-tag", class: "grid" },
    el("thead", {}, el("tr", {}, ["tag", "episodes", "tasks", "success", "mean score"].map((h) => el("th", {}, h)))),
    el("tbody", {}, tags.map(([tag, r]) => el("tr", {}, el("td", {}, tag), el("td", { class: "num" }, fmt(r.episodes)),
      el("td", { class: "num" }, fmt(r.tasks)), el("td", { class: "num" }, withCi(r.success_rate, r.success_se, null, pct)),
      el("td", { class: "num" }, withCi(r.mean_score, r.score_se, null, score)))))));
  return out;
}
