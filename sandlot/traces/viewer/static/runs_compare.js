// sandlot viewer: two runs compared task by task (the flipped tasks, the paired tests,
// per-tag, token and time deltas), as `sandlot compare` prints them.
"use strict";

const signedPts = (x) => (isNum(x) ? (x >= 0 ? "+" : "") + (100 * x).toFixed(1) + " pts" : "–");

// A run of the second trace file (`sandlot view A.db --compare-with B.db`) is "b:RUN".
const TRACE_B = "b:";

function runPicker(runs, current, other, side, traceB) {
  const option = (value, label) => { const o = el("option", { value }, label); if (value === current) o.selected = true; return o; };
  const mine = runs.map((r) => option(r.id, `${r.id} · ${r.model || ""}`));
  // B may also be a run of the second trace, named by its file
  const theirs = side === "b" && traceB ? traceB.runs.map((r) => option(TRACE_B + r.id, `${traceB.name}: ${r.id} · ${r.model || ""}`)) : [];
  const select = el("select", { "aria-label": "run " + side, id: "pick-" + side, onchange: (e) => {
    location.hash = side === "a" ? route("runs-compare", e.target.value, other) : route("runs-compare", other, e.target.value);
  } }, theirs.length ? [el("optgroup", { label: "this trace" }, mine), el("optgroup", { label: traceB.name }, theirs)] : mine);
  return el("label", {}, side.toUpperCase() + " ", select);
}

function deltaLine(label, d, unit) {
  const f = (x, sign) => (isNum(x) ? (sign && x >= 0 ? "+" : "") + x.toFixed(2) + unit : "–");
  return `${label}: A ${f(d.a)}, B ${f(d.b)}, delta ${f(d.delta, true)}`;
}

async function pageRunsCompare(a, b) {
  crumbs(["runs", "#/"], ["compare runs", null]);
  const [runs, data, traceB] = await Promise.all([api("runs"), api(`runs/${enc(a)}/compare/${enc(b)}`), api("trace-b")]);
  const pickers = el("div", { class: "filters" }, runPicker(runs, a, b, "a", traceB), " ", runPicker(runs, b, a, "b", traceB));
  if (!data) return show(el("h2", {}, "Compare two runs"), pickers, el("p", { class: "bad" }, `No run ${a} or ${b} in ${traceB ? "these traces" : "this trace"}.`));
  // a run of the second trace has no page here: its id and file, as text
  const runB = data.b_in_trace_b ? el("span", { id: "run-b-trace" }, `${data.run_b} (${data.db_b})`) : el("a", { href: route("run", data.run_b) }, data.run_b);
  const m = data.mcnemar;
  const ci = data.ci95 ? `[${signedPts(data.ci95[0])}, ${signedPts(data.ci95[1])}]` : "–";
  const summary = el("p", { id: "runs-summary" },
    `A ${pct(data.rate_a)}, B ${pct(data.rate_b)}, delta ${signedPts(data.delta)} (95% CI ${ci}, paired bootstrap over ${data.paired_tasks} tasks); `,
    `McNemar p = ${Number(m.p_value.toPrecision(4))} (${m.pass_to_fail} pass→fail, ${m.fail_to_pass} fail→pass)`);
  const flipped = el("table", { id: "flipped", class: "grid" },
    el("thead", {}, el("tr", {}, ["task", "flip", "A passed", "B passed"].map((h) => el("th", {}, h)))),
    el("tbody", {}, data.flipped.map((p) => el("tr", {},
      el("td", {}, p.task_id), el("td", { class: p.flip === "pass→fail" ? "bad" : "ok" }, p.flip),
      el("td", { class: "num" }, `${p.passed_a}/${p.scored_a}`), el("td", { class: "num" }, `${p.passed_b}/${p.scored_b}`)))));
  const tags = data.by_tag.length ? el("table", { id: "by-tag", class: "grid" },
    el("thead", {}, el("tr", {}, ["tag", "tasks", "A", "B", "delta"].map((h) => el("th", {}, h)))),
    el("tbody", {}, data.by_tag.map((t) => el("tr", {}, el("td", {}, t.tag), el("td", { class: "num" }, String(t.tasks)),
      el("td", { class: "num" }, pct(t.rate_a)), el("td", { class: "num" }, pct(t.rate_b)), el("td", { class: "num" }, signedPts(t.delta))))))
    : el("p", { id: "by-tag", class: "muted" }, "The tasks have no tags.");
  const costs = el("div", { id: "runs-costs" },
    el("p", {}, deltaLine("tokens per episode", data.tokens, "")),
    el("p", {}, deltaLine("time per episode", data.duration, " s")),
    el("p", {}, data.cost ? deltaLine("cost per episode", data.cost, "") : "cost: not recorded"));
  const apart = [["only in A", data.only_a], ["only in B", data.only_b], ["not scored in A or B", data.unscored]]
    .filter(([, tasks]) => tasks.length).map(([label, tasks]) => el("p", { class: "muted" }, `${label}: ${tasks.join(", ")}`));
  const notScored = [["A", data.not_scored_a], ["B", data.not_scored_b]].flatMap(([run, eps]) => eps.map((e) =>
    el("li", {}, `${run}: `, outcome(e.outcome), ` ${e.task_id} (epoch ${e.epoch})`, e.error ? `: ${e.error}` : "")));
  show(el("h2", {}, "Compare two runs"), pickers,
    el("p", {}, "A = ", el("a", { href: route("run", data.run_a) }, data.run_a), ", B = ", runB),
    summary, el("h3", {}, `Flipped tasks (${data.flipped.length} of ${data.paired_tasks} paired)`), flipped,
    el("h3", {}, "By tag"), tags, costs, apart,
    notScored.length ? [el("h3", {}, "Not scored (errors, interrupted)"), el("ul", { id: "not-scored" }, notScored)] : null);
}
