// sandlot viewer: one episode — a compact header and checklist, then tabs: the
// conversation (conversation.js, the default), the timeline (a windowed list: only the
// rows in view exist, fetched a page at a time), the span tree (children fetched when a
// span is opened, each with its latency bar) and the replay. The timeline and the tree
// show the picked event in the inspector.
"use strict";

const ROW_HEIGHT = 26;
const EVENTS_PAGE = 200;
const CHILDREN_PAGE = 200;

// seq -> the failed checks that rest on that event (marked in the timeline and span tree)
function checkMarks(checks) {
  const marks = new Map();
  for (const c of checks || []) for (const seq of c.events || []) marks.set(seq, [...(marks.get(seq) || []), c.item_id]);
  return marks;
}

function checkMark(marks, seq) {
  const items = marks.get(seq);
  return items ? el("span", { class: "check-mark bad", title: "failed check: " + items.join(", ") }, "✗ " + items.join(", ")) : null;
}

const checkEventLinks = (c, epId) => (c.events || []).map((seq, i) => [i ? ", " : "",
  el("a", { href: withQuery(route("episode", epId), { seq }), class: "check-event" }, "#" + seq)]);

// One line of counts that opens the full table, and a line per failed item with its
// evidence in a sentence, so the conversation starts high on the page.
function checklist(checks, epId) {
  if (!checks.length) return el("p", { class: "muted checklist-line", id: "checklist-summary" }, "Checklist: no verdicts recorded.");
  const passed = checks.filter((c) => c.passed).length;
  const failed = checks.filter((c) => c.passed === 0 || c.passed === false);
  const skipped = checks.filter((c) => c.passed === null || c.passed === undefined).length;
  return el("div", { class: "checklist" },
    el("details", { id: "checklist-details" }, el("summary", { id: "checklist-summary", class: "checklist-line" }, el("strong", {}, "Checklist: "),
      `${passed} of ${checks.length} passed`, failed.length ? el("span", { class: "bad" }, ` · ${failed.length} failed`) : null,
      skipped ? el("span", { class: "muted" }, ` · ${skipped} skipped`) : null, el("span", { class: "muted small" }, " (full table)")),
    checkTable(checks, epId)),
    failed.length ? el("ul", { class: "failed-checks", id: "failed-checks" }, failed.map((c) => {
      const words = [c.description, c.sentence].filter(Boolean).join(": ");
      return el("li", { title: words }, el("span", { class: "bad" }, "✗ "), el("b", {}, c.item_id), words ? " — " + words : "",
        (c.events || []).length ? el("span", { class: "small" }, " · events ", checkEventLinks(c, epId)) : null);
    })) : null);
}

function checkTable(checks, epId) {
  return el("table", { id: "checks", class: "grid" },
      el("thead", {}, el("tr", {}, ["verdict", "item", "description", "kind", "weight", "required", "evidence"].map((h) => el("th", {}, h)))),
      el("tbody", {}, checks.map((c) => el("tr", { class: c.passed === 0 || c.passed === false ? "failed-check" : "" },
        el("td", {}, verdict(c.passed)), el("td", {}, c.item_id), el("td", {}, c.description), el("td", {}, c.kind),
        el("td", { class: "num" }, fmt(c.weight)), el("td", {}, c.required ? "required" : "optional"),
        el("td", {}, c.skipped_reason ? el("span", { class: "muted" }, "skipped: ", c.skipped_reason)
          : c.evidence === null || c.evidence === undefined ? "–"
          : [c.sentence ? el("div", { class: "evidence-sentence" }, c.sentence) : null,
            (c.events || []).length ? el("div", { class: "check-events small" }, "events: ", checkEventLinks(c, epId)) : null,
            lazyDetails("evidence", () => block(c.evidence))])))));
}

// Whether a replay matched its recording, and where it first differed.
function replayVerdict(r) {
  if (r.matched) return el("p", { id: "replay-verdict", class: "ok" }, `matched the recording (${fmt(r.compared)} tool calls compared)`);
  const d = r.divergence || {};
  const where = d.kind === "tool_call" && d.index >= 0 ? ` at tool call ${d.index + 1}${d.tool ? " (" + d.tool + ")" : ""}` : "";
  return el("p", { id: "replay-verdict", class: "bad" }, `differed from the recording${where}`, d.reason ? ": " + d.reason : "");
}

// A line that shows the start of a long text and opens to all of it.
function oneLine(label, value, id) {
  if (value === null || value === undefined) return el("p", { class: "ep-line", id }, el("span", { class: "muted" }, label + ": (none)"));
  const text = pretty(value);
  return lazyDetails([el("span", { class: "muted" }, label + ": "), el("span", { class: "clip" }, text.slice(0, 400))], () => block(text, 3000), { class: "ep-line", id });
}

function episodeHeader(ep) {
  const rows = [el("h2", { class: "ep-title" }, "Episode ", ep.id, el("span", { class: "muted" }, " · "), ep.task_id),
    el("div", { class: "ep-meta" }, meta(["outcome", outcome(ep.outcome, ep.end_reason)], ["ended", ep.end_reason ? String(ep.end_reason).replace(/_/g, " ") : null],
      ["score", fmt(ep.score)], ["plan steps", fmt(ep.steps)], ["model calls", fmt(ep.model_calls)],
      ["tool calls", fmt(ep.tool_calls) + (ep.tool_errors ? ` (${ep.tool_errors} errors)` : "")], ["tokens", fmt(ep.tokens)],
      ["cost", el("span", { id: "episode-cost" }, usd(ep.cost))], ["duration", secs(ep.duration)], ["events", fmt(ep.n_events)],
      ["run", EMBEDDED ? ep.run_id : el("a", { href: route("run", ep.run_id) }, ep.run_id)], ["epoch", ep.epoch], ["model", ep.model],
      ["agent", ep.agent], ["environment", ep.environment], ["sandbox", ep.sandbox_backend]))];
  if (ep.why) rows.push(el("p", { class: "why", id: "why" }, el("strong", {}, "why: "), ep.why));
  if (ep.replay_of) {
    rows.push(el("p", { class: "ep-line" }, "replay of ", EMBEDDED ? ep.replay_of : [el("a", { href: route("episode", ep.replay_of) }, ep.replay_of),
      " · ", el("a", { href: route("compare", ep.replay_of, ep.id), id: "compare-original" }, "compare with the original")]));
    if (ep.replay) rows.push(replayVerdict(ep.replay));
  }
  if (ep.forked_from) {
    const at = ` at step ${fmt(ep.fork_at)} (after its first ${fmt(ep.fork_at)} tool calls)`;
    rows.push(el("p", { class: "ep-line", id: "fork-of" }, "fork of ", EMBEDDED ? [ep.forked_from, at] : [el("a", { href: route("episode", ep.forked_from), id: "fork-original" }, ep.forked_from), at,
      " · ", el("a", { href: route("compare", ep.forked_from, ep.id), id: "compare-fork" }, "compare with the original")]));
  }
  if (ep.error) rows.push(el("p", { class: "bad ep-line" }, "error: ", ep.error));
  rows.push(oneLine("instruction", ep.instruction, "instruction"), oneLine("answer", ep.answer, "answer"));
  return el("div", { class: "ep-header" }, rows);
}

async function pageEpisode(epId, params) {
  const ep = await api(`episodes/${enc(epId)}`);
  if (!ep) return show(el("h2", {}, "No episode ", epId), el("p", {}, el("a", { href: "#/" }, "all runs")));
  crumbs(...(EMBEDDED ? [] : [["runs", "#/"], ["run " + ep.run_id, route("run", ep.run_id)]]), ["episode " + ep.id, null]);
  const body = el("div", { id: "episode-body" });
  const views = { conversation: conversationView, timeline: timelineView, tree: treeView, replay: replayView };
  const labels = { conversation: "Conversation", timeline: `Timeline (${fmt(ep.n_events)} events)`, tree: "Span tree", replay: "Step-through replay" };
  const tabs = el("div", { class: "tabs", role: "tablist" });
  const open = (name, p) => {
    for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.view === name));
    setHashQuietly(withQuery(route("episode", ep.id), { view: name === "conversation" ? "" : name }));
    body.replaceChildren(el("p", { class: "muted" }, "loading…"));
    views[name](ep, body, p || new URLSearchParams()).catch((err) => body.replaceChildren(errorBox(err)));
  };
  for (const name of Object.keys(views)) {
    tabs.append(el("button", { type: "button", role: "tab", id: "tab-" + name, "data-view": name,
      onclick: () => { open(name); tabs.scrollIntoView({ block: "start" }); } }, labels[name]));
  }
  const compareForm = EMBEDDED ? null : el("form", { class: "compare-with", onsubmit: (e) => {
    e.preventDefault(); const other = e.target.elements.other.value.trim(); if (other) location.hash = route("compare", ep.id, other);
  } }, el("input", { name: "other", placeholder: "another episode id", "aria-label": "episode to compare with" }), el("button", { type: "submit" }, "compare"));
  if (compareForm) tabs.append(compareForm);
  show(episodeHeader(ep), checklist(ep.checks, ep.id), tabs, body);
  // A link to an event (?seq=) or to kinds of events opens the timeline.
  const first = views[params.get("view")] ? params.get("view") : params.get("seq") || params.get("kinds") ? "timeline" : "conversation";
  open(first, params);
}

// --- timeline -------------------------------------------------------------------------------
function timelineRow(ep, r, selected) {
  const span = isNum(ep.t0) && isNum(ep.t1) && ep.t1 > ep.t0 ? ep.t1 - ep.t0 : null;
  const bar = el("span", { class: "bar" });
  if (span && isNum(r.ts)) {
    bar.style.left = (100 * (r.ts - ep.t0)) / span + "%";
    bar.style.width = Math.max(0.3, (100 * (r.duration || 0)) / span) + "%";
  }
  const mark = checkMark(ep.marks || (ep.marks = checkMarks(ep.checks)), r.seq);
  return el("div", { class: `row event ${statusClass(r.status)} ${selected ? "selected" : ""} ${mark ? "check-linked" : ""}`, "data-seq": r.seq, role: "option" },
    el("span", { class: "seq" }, "#" + r.seq), el("span", { class: "t" }, isNum(r.ts) && isNum(ep.t0) ? "+" + secs(r.ts - ep.t0) : ""),
    kindBadge(r.kind), el("span", { class: "name" }, r.name), el("span", { class: "dur" }, isNum(r.duration) ? secs(r.duration) : ""),
    el("span", { class: "summary" }, mark, r.summary, r.size > 20000 ? el("span", { class: "muted" }, ` [${bytes(r.size)}]`) : null),
    el("span", { class: "gantt" }, bar));
}

// A list of `total` rows of fixed height; rows are fetched EVENTS_PAGE at a time and only
// those in view (plus a margin) are in the DOM, so 50,000 events cost what 60 do.
function windowedList(total, fetchPage, renderRow, firstPage) {
  const box = el("div", { class: "vlist", id: "timeline", tabindex: "0", role: "listbox" });
  const spacer = el("div", { class: "vspacer" });
  spacer.style.height = total * ROW_HEIGHT + "px";
  box.append(spacer);
  const pages = new Map(firstPage ? [[0, firstPage]] : []);
  let frame = 0;
  const rowAt = (i) => { const p = pages.get(Math.floor(i / EVENTS_PAGE)); return Array.isArray(p) ? p[i % EVENTS_PAGE] : undefined; };
  function ensure(p) {
    if (pages.has(p)) return pages.get(p);
    const pending = fetchPage(p * EVENTS_PAGE, EVENTS_PAGE).then((rows) => { pages.set(p, rows); paint(); return rows; },
      (err) => { pages.delete(p); box.replaceChildren(errorBox(err)); });
    pages.set(p, pending);
    return pending;
  }
  function paint() {
    const height = box.clientHeight || 600;
    const first = Math.max(0, Math.floor(box.scrollTop / ROW_HEIGHT) - 15);
    const last = Math.min(total, Math.ceil((box.scrollTop + height) / ROW_HEIGHT) + 15);
    const nodes = [];
    for (let i = first; i < last; i++) {
      const row = rowAt(i);
      if (row === undefined) { ensure(Math.floor(i / EVENTS_PAGE)); continue; }
      const node = renderRow(row, i);
      node.style.top = i * ROW_HEIGHT + "px";
      nodes.push(node);
    }
    spacer.replaceChildren(...nodes);
  }
  box.addEventListener("scroll", () => { if (!frame) frame = requestAnimationFrame(() => { frame = 0; paint(); }); });
  return { node: box, paint, rowAt, ensure,
    scrollTo(i) { box.scrollTop = Math.max(0, i * ROW_HEIGHT - box.clientHeight / 3); paint(); },
    reveal(i) {
      const top = i * ROW_HEIGHT;
      if (top < box.scrollTop) box.scrollTop = top;
      else if (top + ROW_HEIGHT > box.scrollTop + box.clientHeight) box.scrollTop = top + ROW_HEIGHT - box.clientHeight;
    } };
}

async function timelineView(ep, body, params) {
  const kinds = (params.get("kinds") || "").split(",").filter(Boolean);
  const kq = kinds.length ? "&kinds=" + enc(kinds.join(",")) : "";
  const first = await api(`episodes/${enc(ep.id)}/events?offset=0&limit=${EVENTS_PAGE}${kq}`);
  let selected = null, selectedIndex = -1;
  const insp = inspector(ep.id, (seq) => pick(seq, -1));
  const list = windowedList(first.total, async (offset, limit) => (await api(`episodes/${enc(ep.id)}/events?offset=${offset}&limit=${limit}${kq}`)).rows,
    (row, i) => { const n = timelineRow(ep, row, row.seq === selected); n.addEventListener("click", () => pick(row.seq, i)); return n; },
    first.rows);
  function pick(seq, index) {
    selected = seq; selectedIndex = index;
    setHashQuietly(withQuery(route("episode", ep.id), { view: "timeline", kinds: kinds.join(","), seq }));
    list.paint();
    insp.open(seq);
  }
  list.node.addEventListener("keydown", (e) => {
    const step = { ArrowDown: 1, ArrowUp: -1 }[e.key];
    if (!step || selectedIndex < 0) return;
    const row = list.rowAt(selectedIndex + step);
    if (row) { e.preventDefault(); pick(row.seq, selectedIndex + step); list.reveal(selectedIndex); }
  });
  list.node.goTo = (seq, index) => { list.scrollTo(index); pick(seq, index); };  // the "e" key (keys.js)
  const filter = el("div", { class: "kind-filter" }, el("span", { class: "muted" }, "show: "),
    Object.entries(ep.kinds).map(([kind, n]) => el("label", {}, el("input", { type: "checkbox", value: kind, checked: !kinds.length || kinds.includes(kind),
      onchange: () => {
        const on = [...filter.querySelectorAll("input:checked")].map((i) => i.value);
        const all = on.length === Object.keys(ep.kinds).length;
        body.replaceChildren(el("p", { class: "muted" }, "loading…"));
        timelineView(ep, body, new URLSearchParams(all ? "" : "kinds=" + on.join(","))).catch((err) => body.replaceChildren(errorBox(err)));
      } }), " ", kindBadge(kind), " " + fmt(n))),
    el("span", { class: "muted" }, ` · ${fmt(first.total)} shown · ↑/↓ move between events`));
  body.replaceChildren(filter, el("div", { class: "split" }, list.node, insp.node));
  list.paint();
  const wanted = params.get("seq");
  if (wanted !== null && wanted !== "") {
    const at = await api(`episodes/${enc(ep.id)}/position?seq=${Number(wanted)}${kq}`);
    list.scrollTo(at.index);
    pick(Number(wanted), at.index);
  }
}

// --- span tree -------------------------------------------------------------------------------
// Where a span lies in the episode's time (t0..t1), as a bar like the timeline's gantt.
function waterfallBar(ep, r) {
  const span = isNum(ep.t0) && isNum(ep.t1) && ep.t1 > ep.t0 ? ep.t1 - ep.t0 : null;
  const bar = el("span", { class: "wf-bar" });
  const box = el("span", { class: "waterfall", "data-seq": r.seq, title: isNum(r.ts) && isNum(ep.t0) ? `starts +${secs(r.ts - ep.t0)}, lasts ${secs(r.duration)}` : null }, bar);
  if (span && isNum(r.ts)) {
    const left = Math.min(100, Math.max(0, (100 * (r.ts - ep.t0)) / span));
    bar.style.left = left + "%";
    bar.style.width = Math.min(100 - left, Math.max(0.3, (100 * (r.duration || 0)) / span)) + "%";
  } else bar.hidden = true;
  return box;
}

async function treeView(ep, body) {
  const insp = inspector(ep.id, (seq) => { insp.open(seq); });
  const tree = el("div", { class: "tree", id: "tree" });
  let picked = null;
  async function loadChildren(ul, parent, offset) {
    const q = `parent=${parent === null ? "root" : parent}&offset=${offset}&limit=${CHILDREN_PAGE}`;
    const page = await api(`episodes/${enc(ep.id)}/children?${q}`);
    for (const r of page.rows) ul.append(treeNode(r));
    const rest = page.total - offset - page.rows.length;
    if (rest > 0) {
      const more = el("li", { class: "more" }, el("button", { type: "button", class: "link", onclick: async () => { more.remove(); await loadChildren(ul, parent, offset + CHILDREN_PAGE); } },
        `show ${fmt(Math.min(rest, CHILDREN_PAGE))} more of ${fmt(rest)}`));
      ul.append(more);
    }
    return page;
  }
  function treeNode(r) {
    const toggle = el("button", { type: "button", class: "toggle", "data-seq": r.seq, "aria-expanded": r.n_children ? "false" : null, disabled: !r.n_children,
      "aria-label": r.n_children ? `open ${r.n_children} children` : "no children" }, r.n_children ? "▸" : "·");
    const label = el("span", { class: `span ${statusClass(r.status)}`, "data-seq": r.seq, tabindex: "0" }, kindBadge(r.kind), " ", el("b", {}, r.name), " ",
      r.n_children ? el("span", { class: "muted" }, `(${fmt(r.n_children)}) `) : null,
      checkMark(ep.marks || (ep.marks = checkMarks(ep.checks)), r.seq),
      el("span", { class: "summary" }, r.summary), isNum(r.duration) ? el("span", { class: "muted" }, " · " + secs(r.duration)) : null,
      r.orphan ? el("span", { class: "warn" }, " · its parent span #" + r.parent + " was never written (interrupted?)") : null);
    const li = el("li", {}, el("div", { class: "tree-row" }, toggle, label, waterfallBar(ep, r)));
    let sub = null;
    toggle.addEventListener("click", async () => {
      if (sub) { sub.hidden = !sub.hidden; toggle.textContent = sub.hidden ? "▸" : "▾"; toggle.setAttribute("aria-expanded", String(!sub.hidden)); return; }
      sub = el("ul", {}); li.append(sub); toggle.textContent = "▾"; toggle.setAttribute("aria-expanded", "true");
      await loadChildren(sub, r.seq, 0);
    });
    const select = () => { if (picked) picked.classList.remove("selected"); picked = label; label.classList.add("selected"); insp.open(r.seq); };
    label.addEventListener("click", select);
    label.addEventListener("keydown", (e) => { if (e.key === "Enter") select(); if (e.key === "ArrowRight" && !sub) toggle.click(); });
    return li;
  }
  const roots = el("ul", {});
  tree.append(roots);
  body.replaceChildren(el("p", { class: "muted" }, "Open a span with ▸; click one to see it in full."), el("div", { class: "split" }, tree, insp.node));
  const page = await loadChildren(roots, null, 0);
  // Open the episode's root span, so its nodes show at once.
  const top = page.rows[0];
  if (top && (page.total === 1 || top.kind === "episode") && top.n_children) roots.querySelector(".toggle").click();
}
