// sandlot viewer: one event in full (the inspector beside the timeline and the tree, and
// the detail of a replay step), and a model conversation.
"use strict";

function meta(...pairs) {
  return el("p", { class: "meta" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v], i) => [i ? " · " : "", el("span", { class: "muted" }, k + " "), v]));
}

function messageContent(content) {
  if (content === null || content === undefined) return null;
  if (typeof content === "string") return block(content, 3000);
  if (Array.isArray(content)) return block(content.map((part) => (part && part.text !== undefined ? part.text : pretty(part))).join("\n"), 3000);
  return block(content, 3000);
}

function toolCallList(calls) {
  return el("ul", { class: "tool-calls" }, (calls || []).map((c) => el("li", {},
    el("b", {}, c.name || (c.function && c.function.name) || "?"),
    c.id ? el("span", { class: "muted" }, " " + c.id) : null,
    block(parseMaybe(c.arguments !== undefined ? c.arguments : c.function && c.function.arguments), 3000))));
}

function parseMaybe(text) {
  if (typeof text !== "string") return text;
  try { return JSON.parse(text); } catch (_) { return text; }
}

function messageView(m, extraClass) {
  const role = (m && m.role) || "?";
  return el("div", { class: `msg role-${String(role).replace(/[^a-z]/g, "")} ${extraClass || ""}` },
    el("div", { class: "role" }, role, m.name ? ` (${m.name})` : "", m.tool_call_id ? ` · for ${m.tool_call_id}` : ""),
    messageContent(m.content), m.tool_calls && m.tool_calls.length ? toolCallList(m.tool_calls) : null);
}

function conversation(messages) {
  return el("div", { class: "conversation" }, (messages || []).map((m) => messageView(m)));
}

function responseView(p) {
  if (p.error) return el("p", { class: "bad" }, "error: ", String(p.error));
  const r = p.response || {};
  return messageView({ role: "assistant", content: r.content, tool_calls: r.tool_calls }, "response");
}

function retrievalView(p) {
  // what the step needed (traces before `needed` call it `expected`)
  const need = p.needed || p.expected || [];
  const offered = new Set(p.offered || []), expected = new Set(need);
  return el("div", {},
    meta(["query", p.query], ["k", p.k], ["hit", p.hit === null || p.hit === undefined ? "–" : p.hit ? "yes" : "no"]),
    p.matched === false ? el("p", { class: "warn" }, "no tool matched this step: none offered") : null,
    el("table", { class: "ranked" }, el("thead", {}, el("tr", {}, ["#", "tool", "score", "offered", "needed"].map((h) => el("th", {}, h)))),
      el("tbody", {}, (p.ranked || []).map((r, i) => el("tr", { class: offered.has(r.tool) ? "offered" : "" },
        el("td", {}, i + 1), el("td", {}, r.tool), el("td", {}, fmt(r.score)), el("td", {}, offered.has(r.tool) ? "✓" : ""),
        el("td", {}, expected.has(r.tool) ? (offered.has(r.tool) ? "★" : el("span", { class: "bad" }, "★ missed")) : ""))))),
    need.some((t) => !offered.has(t))
      ? el("p", { class: "bad" }, "needed but not offered: ", need.filter((t) => !offered.has(t)).join(", ")) : null);
}

function planView(p) {
  return el("div", {}, p.replan ? el("p", { class: "warn" }, "re-plan: ", p.reason || "") : p.reason ? meta(["note", p.reason]) : null,
    el("ol", { class: "plan" }, (p.steps || []).map((s) => el("li", {}, s))));
}

// The body of one event by kind; `compact` leaves out what the replay shows elsewhere.
function eventBody(ev, compact) {
  const p = ev.payload && typeof ev.payload === "object" ? ev.payload : {};
  switch (ev.kind) {
    case "model_call": {
      const u = p.usage || {};
      return el("div", {}, meta(["purpose", p.purpose], ["model", p.model], ["latency", secs(p.latency)],
        ["tokens", u.prompt_tokens !== undefined ? `${fmt(u.prompt_tokens)} in + ${fmt(u.completion_tokens)} out` : null],
        ["plan step", p.step_index === null || p.step_index === undefined ? null : p.step_index + 1]),
        el("p", { class: "tools-offered" }, el("span", { class: "muted" }, "tools offered: "),
          (p.tools || []).length ? (p.tools || []).map((t) => el("span", { class: "chip" }, t)) : "none"),
        // The replay shows messages and response in its conversation: not twice.
        compact ? null : [el("h4", {}, `Messages (${(p.messages || []).length})`), conversation(p.messages),
          el("h4", {}, "Response"), responseView(p)]);
    }
    case "tool_call":
      return el("div", {}, meta(["result", p.ok ? el("span", { class: "ok" }, "ok") : el("span", { class: "bad" }, "error: " + (p.error_kind || "?"))],
        ["call", p.call_id], ["plan step", isNum(p.step_index) ? p.step_index + 1 : null],
        ["offered", p.offered === false ? el("span", { class: "bad" }, "no — the model called a tool it was not offered") : null]),
        el("h4", {}, "Arguments"), p.arguments === null || p.arguments === undefined
          ? [el("p", { class: "warn" }, "not valid JSON; as the model sent them:"), block(p.arguments_raw)] : block(p.arguments),
        el("h4", {}, p.ok ? "Result (what the model saw)" : "Error (what the model saw)"), block(p.content));
    case "retrieval": return retrievalView(p);
    case "plan": return planView(p);
    case "check": return el("div", {}, meta(["item", p.item_id], ["verdict", verdict(p.passed)]), el("h4", {}, "Evidence"), block(p.evidence));
    case "answer": return block(p.answer);
    case "error": return el("div", {}, el("p", { class: "bad" }, p.message || ""), p.traceback ? block(p.traceback) : null);
    case "episode":
      return el("div", {}, meta(["agent", p.agent], ["model", p.model], ["task", p.task_id]), el("h4", {}, "Instruction"), block(p.instruction),
        p.tool_schemas ? lazyDetails(`tool schemas (${Object.keys(p.tool_schemas).length})`, () => block(p.tool_schemas)) : null);
    case "replay":
      return el("div", {}, meta(["step", p.step], ["tool", p.tool], ["match", p.match ? el("span", { class: "ok" }, "yes") : el("span", { class: "bad" }, "no")]),
        el("div", { class: "cols" }, el("div", {}, el("h4", {}, "Recorded"), block(p.recorded)), el("div", {}, el("h4", {}, "Replayed"), block(p.new))));
    default: return block(ev.payload);
  }
}

// The whole inspector content for one event; onFull re-fetches it without cuts.
function eventView(ev, onFull, onParent) {
  return el("div", { class: "event-view", "data-seq": ev.seq },
    el("h3", {}, kindBadge(ev.kind), " ", ev.name, el("span", { class: "muted" }, ` #${ev.seq}`)),
    meta(["duration", isNum(ev.duration) ? secs(ev.duration) : null],
      ["parent", ev.parent === null ? null : onParent ? el("a", { href: "#", class: "parent-link", onclick: (e) => { e.preventDefault(); onParent(ev.parent); } }, "#" + ev.parent) : "#" + ev.parent]),
    ev.cut ? el("p", { class: "warn cut-notice" }, `${ev.cut} long value(s) cut at 20,000 characters. `,
      el("button", { type: "button", class: "show-full", onclick: onFull }, "show the full payload")) : null,
    eventBody(ev, false),
    lazyDetails("raw payload (JSON)", () => block(ev.payload, 200000), { class: "raw" }));
}

// A panel that shows the event picked in a list; fetches it by seq.
function inspector(epId, onParent) {
  const box = el("aside", { class: "inspector", id: "inspector" }, el("p", { class: "muted" }, "Select an event to see it in full."));
  let token = 0;
  async function open(seq, full) {
    const mine = ++token;
    box.replaceChildren(el("p", { class: "muted" }, "loading…"));
    try {
      const ev = await api(`episodes/${enc(epId)}/events/${seq}${full ? "?full=1" : ""}`);
      if (mine !== token) return;
      box.replaceChildren(ev ? eventView(ev, () => open(seq, true), onParent) : el("p", {}, "no such event"));
    } catch (err) { if (mine === token) box.replaceChildren(errorBox(err)); }
  }
  return { node: box, open };
}
