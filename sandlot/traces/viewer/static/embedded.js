// sandlot viewer: the API of one exported episode, answered from the JSON embedded in
// the page (the "data" element of type application/json), so an export opens from
// file:// with no server. The shapes match sandlot/traces/viewer/api.py.
"use strict";

const EMBEDDED = (() => {
  const node = document.getElementById("data");
  if (!node) return null;
  const data = JSON.parse(node.textContent);  // data, never evaluated
  const events = data.events;
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  const kids = new Map();
  for (const e of events) {
    const key = e.parent !== null && bySeq.has(e.parent) ? e.parent : "root";
    if (!kids.has(key)) kids.set(key, []);
    kids.get(key).push(e);
  }
  const filtered = new Map();
  function ofKinds(kinds) {
    const key = kinds || "";
    if (!filtered.has(key)) {
      const wanted = new Set(key.split(",").filter(Boolean));
      filtered.set(key, wanted.size ? events.filter((e) => wanted.has(e.kind)) : events);
    }
    return filtered.get(key);
  }
  // A model call names the messages it sent by number (message_refs: numbers and
  // [first, last] runs); the export holds each message once (data.messages), as the
  // trace does (sandlot/traces/messages.py).
  function withMessages(payload) {
    if (!payload || typeof payload !== "object" || payload.messages || !Array.isArray(payload.message_refs)) return payload;
    const stored = data.messages || {}, messages = [];
    const one = (n) => messages.push(stored[String(n)] || { role: "?", content: `[message ${n} is not in the export]` });
    for (const ref of payload.message_refs) {
      if (Array.isArray(ref)) {
        for (let n = Number(ref[0]); n <= Number(ref[1]) && messages.length < 1000000; n++) one(n);
      } else one(ref);
    }
    return { ...payload, messages };
  }
  function page(list, q, extend) {
    const offset = Number(q.get("offset") || 0), limit = Number(q.get("limit") || 200);
    return { total: list.length, offset, rows: list.slice(offset, offset + limit).map(extend || ((e) => e)) };
  }
  function get(path) {
    const [base, query] = path.split("?");
    const q = new URLSearchParams(query || "");
    const parts = base.split("/").map(decodeURIComponent);
    if (parts[0] !== "episodes" || parts[1] !== data.episode.id) {
      throw new Error("this exported file holds one episode only; open the trace with `sandlot view` for the rest");
    }
    const what = parts[2];
    if (what === undefined) return data.episode;
    if (what === "steps") return data.steps;
    if (what === "conversation") {
      // every turn is in the export (export.py): pages are slices of them
      const turns = data.conversation || [];
      const offset = Number(q.get("offset") || 0), limit = Number(q.get("limit") || 100);
      const next = offset + limit < turns.length ? offset + limit : null;
      return { total: turns.length, offset, next_offset: next, turns: turns.slice(offset, offset + limit) };
    }
    if (what === "events" && parts.length === 4) {
      const e = bySeq.get(Number(parts[3]));
      return e ? { ...e, payload: withMessages(data.payloads[String(e.seq)]), cut: 0 } : null;
    }
    if (what === "events") return page(ofKinds(q.get("kinds")), q);
    if (what === "position") {
      const seq = Number(q.get("seq"));
      return { index: ofKinds(q.get("kinds")).filter((e) => e.seq < seq).length };
    }
    if (what === "children") {
      const parent = q.get("parent");
      const list = kids.get(parent === null || parent === "root" ? "root" : Number(parent)) || [];
      return page(list, q, (e) => ({
        ...e,
        n_children: (kids.get(e.seq) || []).length,
        ...(parent === "root" && e.parent !== null ? { orphan: true } : {}),
      }));
    }
    throw new Error("not part of an exported episode: " + path);
  }
  return { data, get: async (path) => get(path) };
})();
