// sandlot viewer: DOM helpers, formatting and data access shared by every page.
//
// The one rule of this code: a value taken from a trace is inserted as text (a Text
// node or textContent), never as markup, and never becomes a URL other than a "#/..."
// route built from encoded ids. el() enforces both, so pages cannot forget.
"use strict";

const app = document.getElementById("app");
const SVG_NS = "http://www.w3.org/2000/svg";
// Attributes that load or run something: never set from el(), whatever the caller passes.
const FORBIDDEN_ATTRS = new Set(["src", "srcdoc", "style", "formaction", "action", "xlink:href"]);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "href") node.setAttribute("href", String(value).startsWith("#") ? value : "#");
    else if (FORBIDDEN_ATTRS.has(key.toLowerCase())) throw new Error("el(): refusing attribute " + key);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  appendAll(node, children);
  return node;
}

function appendAll(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function show(...nodes) {
  app.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
}

// --- routes ----------------------------------------------------------------------------
const route = (...parts) => "#/" + parts.map((p) => encodeURIComponent(String(p))).join("/");

function withQuery(hash, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `${hash}?${s}` : hash;
}

// Record where the reader is (selected event, replay step) without re-rendering the page.
function setHashQuietly(hash) {
  try { history.replaceState(null, "", hash); } catch (_) { /* file:// may refuse; harmless */ }
}

// --- formatting --------------------------------------------------------------------------
const isNum = (x) => typeof x === "number" && Number.isFinite(x);
function fmt(x, digits = 3) {
  if (x === null || x === undefined) return "–";
  if (!isNum(x)) return String(x);
  return Number.isInteger(x) ? x.toLocaleString("en-US") : x.toFixed(digits);
}
const pct = (x) => (isNum(x) ? (100 * x).toFixed(1) + "%" : "–");
function secs(x) {
  if (!isNum(x)) return "–";
  if (x < 1) return (x * 1000).toFixed(x < 0.01 ? 2 : 1) + " ms";
  return x < 120 ? x.toFixed(2) + " s" : (x / 60).toFixed(1) + " min";
}
function bytes(n) {
  if (!isNum(n)) return "";
  return n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " kB" : (n / 1048576).toFixed(1) + " MB";
}
function when(ts) {
  if (!isNum(ts)) return "–";
  return new Date(ts * 1000).toISOString().replace("T", " ").slice(0, 19);
}

// --- small widgets -------------------------------------------------------------------------
const kindBadge = (kind) => el("span", { class: "badge kind-" + String(kind).replace(/[^a-z_]/g, "") }, kind);
function statusClass(status) {
  return { ok: "st-ok", error: "st-bad", failed: "st-bad", miss: "st-warn", replan: "st-warn", superseded: "st-warn" }[status] || "";
}
function verdict(passed) {
  if (passed === null || passed === undefined) return el("span", { class: "muted" }, "skipped");
  return passed ? el("span", { class: "ok" }, "pass") : el("span", { class: "bad" }, "fail");
}
// An episode's outcome, in the words the trace and the command line use.
function outcome(value, endReason) {
  const word = value || "running";
  const title = endReason ? "ended: " + String(endReason).replace(/_/g, " ") : null;
  return el("span", { class: "outcome outcome-" + String(word).replace(/[^a-z_]/g, ""), title }, String(word).replace(/_/g, " "));
}
function yesNo(value) {
  if (value === null || value === undefined) return el("span", { class: "muted" }, "–");
  return value ? el("span", { class: "ok" }, "yes") : el("span", { class: "bad" }, "no");
}
function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}
// A <pre> of text or JSON; very long text shows its start and a button for the rest.
function block(value, limit = 6000) {
  const text = value === undefined ? "" : pretty(value);
  const box = el("pre", { class: "block" });
  if (text.length <= limit) return appendAll(box, [text]);
  const more = el("button", { class: "link more-text", type: "button" }, `show all ${fmt(text.length)} characters`);
  more.addEventListener("click", () => box.replaceChildren(text));
  return appendAll(box, [text.slice(0, limit) + "…\n", more]);
}
// A <details> whose content is built only when opened (big evidence, schemas, raw JSON).
function lazyDetails(label, build, props) {
  const box = el("details", props || {}, el("summary", {}, label));
  let built = false;
  box.addEventListener("toggle", () => {
    if (box.open && !built) { built = true; appendAll(box, [build()]); }
  });
  return box;
}
function crumbs(...items) {
  const nav = document.getElementById("crumbs");
  if (!nav) return;
  nav.replaceChildren(...items.flatMap(([label, hash], i) => [i ? " › " : "", hash ? el("a", { href: hash }, label) : el("span", {}, label)]));
}
function errorBox(err) {
  return el("p", { class: "bad error-box" }, "error: " + (err && err.message ? err.message : String(err)));
}

// --- data --------------------------------------------------------------------------------------
// Bumped by the router on every navigation. An answer that arrives after the reader has
// moved on is dropped (StaleRoute), so a slow page can never draw over a newer one.
let routeToken = 0;
class StaleRoute extends Error {}

// The server's JSON API, or (in an exported file) the episode embedded in the page.
async function api(path) {
  if (typeof EMBEDDED !== "undefined" && EMBEDDED) return EMBEDDED.get(path);
  const token = routeToken;
  const body = await fetchJSON(path);
  if (token !== routeToken) throw new StaleRoute(path);
  return body;
}

async function fetchJSON(path) {
  const res = await fetch("/api/" + path, { headers: { Accept: "application/json" } });
  if (res.status === 404) return null;
  if (!res.ok) {
    let message = `${res.status} for ${path}`;
    try { message = (await res.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return res.json();
}
const enc = encodeURIComponent;
