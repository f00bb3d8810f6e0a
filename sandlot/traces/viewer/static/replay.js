// sandlot viewer: step-through replay of an episode. Each move (plan, retrieval, model
// call, tool call, answer, error) shows the plan's progress at that moment and the
// conversation as it stood: the last model call's messages and response, then the tool
// results that came back after it.
"use strict";

// One pass over the moves: for each, the plan in force, the plan step being worked on,
// the last model call so far, and whether that step was given up on.
function replayIndex(steps) {
  const n = steps.seq.length;
  const planAt = new Int32Array(n), stepAt = new Int32Array(n), modelAt = new Int32Array(n), failedAt = new Int8Array(n);
  let plan = -1, step = -1, model = -1, failedPlan = -1, failedStep = -1;
  for (let i = 0; i < n; i++) {
    const kind = steps.kind[i];
    if (kind === "plan") plan = i;
    if (kind === "model_call") model = i;
    if (steps.step[i] !== null) step = steps.step[i];
    if (steps.status[i] === "failed") { failedPlan = plan; failedStep = step; }
    planAt[i] = plan; stepAt[i] = step; modelAt[i] = model;
    failedAt[i] = failedPlan === plan && failedStep === step ? 1 : 0;
  }
  return { n, planAt, stepAt, modelAt, failedAt };
}

function planProgress(plan, current, failed) {
  return el("ol", { class: "plan progress" }, (plan.steps || []).map((text, i) => {
    const status = i < current ? "done" : i === current ? (failed ? "failed" : "current") : "pending";
    return el("li", { class: status, "data-status": status }, el("span", { class: "step-status" }, status), " ", text);
  }));
}

async function replayView(ep, body, params) {
  const steps = await api(`episodes/${enc(ep.id)}/steps`);
  const idx = replayIndex(steps);
  if (!idx.n) { body.replaceChildren(el("p", { class: "muted" }, "No plans, model calls or tool calls to step through.")); return; }
  const cache = new Map();
  const fetchEvent = (seq) => {
    if (!cache.has(seq)) cache.set(seq, api(`episodes/${enc(ep.id)}/events/${seq}`));
    return cache.get(seq);
  };
  let index = -1, token = 0;
  const counter = el("span", { id: "step-counter", "aria-live": "polite" });
  const range = el("input", { type: "range", id: "step-range", min: 0, max: idx.n - 1, value: 0, "aria-label": "step" });
  const planPanel = el("section", { class: "plan-panel", id: "plan-panel" });
  const view = el("section", { id: "step-view" });
  const prev = el("button", { type: "button", id: "prev", onclick: () => go(index - 1) }, "◀ previous");
  const next = el("button", { type: "button", id: "next", onclick: () => go(index + 1) }, "next ▶");
  range.addEventListener("input", () => go(Number(range.value)));

  async function plansAt(i) {
    // The plan in force, and the plans it replaced with the step that failed in each.
    const parts = [];
    const planIndices = [];
    for (let j = idx.planAt[i]; j >= 0 && planIndices.length < 6; j = j > 0 ? idx.planAt[j - 1] : -1) planIndices.unshift(j);
    if (!planIndices.length) return [el("p", { class: "muted" }, "No plan yet.")];
    const plans = await Promise.all(planIndices.map((j) => fetchEvent(steps.seq[j])));
    const current = plans[plans.length - 1].payload || {};
    parts.push(el("h4", {}, current.replan ? "Plan (revised)" : "Plan"), planProgress(current, idx.stepAt[i], idx.failedAt[i] === 1));
    if (current.replan && current.reason) parts.push(el("p", { class: "warn small" }, "re-planned: ", current.reason));
    for (let k = plans.length - 2; k >= 0; k--) {
      const replacedAt = planIndices[k + 1];
      const failedStep = replacedAt > 0 ? idx.stepAt[replacedAt - 1] : -1;
      parts.push(lazyDetails(`earlier plan (replaced at move ${replacedAt + 1})`, () => planProgress(plans[k].payload || {}, failedStep, true), { class: "earlier-plan" }));
    }
    return parts;
  }

  async function conversationAt(i) {
    const m = idx.modelAt[i];
    if (m < 0) return [el("p", { class: "muted" }, "No model call yet.")];
    const call = await fetchEvent(steps.seq[m]);
    const p = call.payload || {};
    const results = [];
    for (let j = m + 1; j <= i; j++) if (steps.kind[j] === "tool_call") results.push(fetchEvent(steps.seq[j]));
    const tools = await Promise.all(results);
    return [el("h4", {}, `Conversation at this step (model call #${call.seq}, ${p.purpose || "call"})`),
      conversation(p.messages), responseView(p),
      tools.map((t) => messageView({ role: "tool", name: t.name, tool_call_id: t.payload && t.payload.call_id,
        content: t.payload && t.payload.content }, t.payload && t.payload.ok ? "" : "tool-error"))];
  }

  async function go(i) {
    const target = Math.max(0, Math.min(idx.n - 1, i));
    if (target === index) return;
    index = target;
    const mine = ++token;
    let move, plan, talk;
    try {
      [move, plan, talk] = await Promise.all([fetchEvent(steps.seq[index]), plansAt(index), conversationAt(index)]);
    } catch (err) {
      if (mine === token) view.replaceChildren(errorBox(err));
      return;
    }
    if (mine !== token) return;  // a later key press won
    planPanel.replaceChildren(...plan);
    view.replaceChildren(el("h3", { class: statusClass(steps.status[index]) }, `Move ${index + 1}: `, kindBadge(move.kind), " ", move.name,
      el("span", { class: "muted" }, ` #${move.seq}`)), eventBody(move, true), el("div", { class: "talk" }, talk));
    range.value = String(index);
    prev.disabled = index === 0;
    next.disabled = index === idx.n - 1;
    setHashQuietly(withQuery(route("episode", ep.id), { view: "replay", step: index + 1 }));
    counter.textContent = ` step ${index + 1} of ${idx.n} `;  // last: the view is ready
  }
  body.replaceChildren(el("div", { class: "stepper" }, prev, counter, next, range,
    el("span", { class: "muted small" }, " keys: ← → or k j")), el("div", { class: "replay-grid" }, planPanel, view));
  await go(Math.max(0, Number(params.get("step") || 1) - 1));
}
