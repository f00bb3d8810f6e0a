// sandlot viewer: an episode read as a conversation (the episode page's first tab). The
// server builds the turns from the events a page at a time (api.py: conversation);
// "show more" fetches the next page. Replies and instructions are rendered as markdown
// (markdown.js), prompts and tool output as plain text.
"use strict";

const CONVERSATION_PAGE = 100;

function usd(x) {
  if (!isNum(x)) return "–";
  return "$" + (x === 0 ? "0" : x < 0.01 ? x.toPrecision(2) : x.toFixed(x < 1 ? 4 : 2));
}

// A link to one event in the timeline, where the inspector shows it in full.
function eventLink(ep, seq, label) {
  return el("a", { href: withQuery(route("episode", ep.id), { view: "timeline", seq }), class: "turn-seq", title: "open in the timeline" }, label || "#" + seq);
}

function cutNotice(ep, t) {
  return t.cut ? el("p", { class: "muted small cut-notice" }, `… cut: ${fmt(t.cut)} characters in all · `, eventLink(ep, t.seq, "see all of event #" + t.seq)) : null;
}

function turnHead(ep, t, who, ...rest) {
  return el("div", { class: "turn-head" }, el("span", { class: "turn-who" }, who), ...rest, el("span", { class: "turn-end" }, eventLink(ep, t.seq)));
}

function toolResultView(ep, r) {
  return el("div", { class: `tool-result ${r.ok ? "" : "tool-error"}`, "data-seq": r.seq },
    el("div", { class: "small" }, r.ok ? el("span", { class: "ok" }, "result") : el("span", { class: "bad" }, "error: " + (r.error_kind || "tool error")),
      isNum(r.duration) ? el("span", { class: "muted" }, " · " + secs(r.duration)) : null, " ", eventLink(ep, r.seq)),
    r.content === null || r.content === undefined ? null : block(r.content, 2000), cutNotice(ep, r));
}

function toolCallView(ep, c) {
  return el("div", { class: "turn-call" },
    el("div", {}, el("span", { class: "muted" }, "→ call "), el("b", {}, c.name || "?"), c.id ? el("span", { class: "muted small" }, " " + c.id) : null),
    c.arguments === null || c.arguments === undefined ? null : block(c.arguments, 2000),
    c.result ? toolResultView(ep, c.result) : el("p", { class: "muted small" }, "(no result on this page)"));
}

function modelTurnMeta(t) {
  const tokens = isNum(t.prompt_tokens) || isNum(t.completion_tokens) ? `${fmt(t.prompt_tokens)} in + ${fmt(t.completion_tokens)} out` : "–";
  return el("span", { class: "turn-meta muted small" },
    t.step === null || t.step === undefined ? null : `step ${t.step + 1} · `,
    el("span", { class: "turn-tokens", title: "tokens" }, tokens), " tokens · cost ",
    el("span", { class: "turn-cost", title: "cost" }, usd(t.cost_usd)), " · latency ",
    el("span", { class: "turn-latency", title: "latency" }, secs(t.latency)),
    t.model ? " · " + t.model : null);
}

function turnView(ep, t) {
  const seq = t.seq;
  switch (t.type) {
    case "system":
      return el("details", { class: "turn turn-system", "data-seq": seq },
        el("summary", {}, "system prompt", t.to ? ` (to the ${t.to})` : "", el("span", { class: "muted small" }, ` · ${fmt((t.content || "").length)} characters`)),
        block(t.content, 6000), cutNotice(ep, t));
    case "user":
      return el("div", { class: "turn turn-user", "data-seq": seq },
        turnHead(ep, t, t.source === "instruction" ? "instruction" : t.source === "simulated_user" ? `simulated user · turn ${Number(t.turn) + 1}` : "user",
          t.to ? el("span", { class: "muted small" }, " to the " + t.to) : null,
          t.stop ? el("span", { class: "muted small" }, " · ended the conversation") : null),
        renderMarkdown(t.content || ""), cutNotice(ep, t));
    case "assistant": {
      const role = String(t.role || "model");
      return el("div", { class: `turn turn-assistant role-${role.replace(/[^a-z_]/g, "")} ${t.status ? "turn-" + t.status : ""}`, "data-seq": seq, "data-role": role },
        turnHead(ep, t, el("span", { class: "role-label" }, role), " ", modelTurnMeta(t)),
        t.error ? el("p", { class: "bad" }, "error: " + t.error) : null,
        t.content === null || t.content === undefined || t.content === "" ? null : renderMarkdown(t.content), cutNotice(ep, t),
        (t.tool_calls || []).map((c) => toolCallView(ep, c)));
    }
    case "tool":
      return el("div", { class: "turn turn-tool", "data-seq": seq },
        turnHead(ep, t, "tool result", " ", el("b", {}, t.name || "?"), t.call_id ? el("span", { class: "muted small" }, " " + t.call_id) : null),
        t.arguments === null || t.arguments === undefined ? null : block(t.arguments, 2000), toolResultView(ep, t));
    case "plan":
      return el("div", { class: "turn turn-plan", "data-seq": seq },
        turnHead(ep, t, t.replan ? "re-plan" : "plan", t.reason ? el("span", { class: "muted small" }, " " + t.reason) : null),
        el("ol", { class: "plan" }, (t.steps || []).map((s) => el("li", {}, s))));
    case "answer":
      return el("div", { class: "turn turn-answer", "data-seq": seq }, turnHead(ep, t, "answer"),
        t.content === null || t.content === undefined ? el("p", { class: "muted" }, "(none)") : renderMarkdown(t.content), cutNotice(ep, t));
    case "error":
      return el("div", { class: "turn turn-error", "data-seq": seq }, turnHead(ep, t, "error"), block(t.content), cutNotice(ep, t));
    default:
      return el("div", { class: "turn", "data-seq": seq }, turnHead(ep, t, String(t.type)), block(t));
  }
}

async function conversationView(ep, body) {
  const list = el("div", { class: "conversation-turns", id: "conversation" });
  const foot = el("div", { class: "pager" });
  async function load(offset) {
    const page = await api(`episodes/${enc(ep.id)}/conversation?offset=${offset}&limit=${CONVERSATION_PAGE}`);
    if (!page) { list.replaceChildren(el("p", { class: "muted" }, "No conversation recorded.")); return; }
    appendAll(list, page.turns.map((t) => turnView(ep, t)));
    if (!offset && !page.turns.length) list.append(el("p", { class: "muted" }, "No model calls or tool calls recorded."));
    const next = page.next_offset;
    foot.replaceChildren(next === null || next === undefined ? "" : el("button", { type: "button", id: "conversation-more", onclick: (e) => {
      e.target.disabled = true;
      load(next).catch((err) => foot.replaceChildren(errorBox(err)));
    } }, `show more (${fmt(page.total - next)} of ${fmt(page.total)} left)`));
  }
  await load(0);
  body.replaceChildren(list, foot);
}
