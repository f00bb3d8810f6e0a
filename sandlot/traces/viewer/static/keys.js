// sandlot viewer: the keyboard help ("?"), the keys that jump to the next failed episode
// ("f") and the next error ("e"), and the loading indicator shown while a page is drawn.
"use strict";

// Every key the viewer answers, as the help overlay lists them: [keys, where, what].
const KEYS = [
  ["?", "anywhere", "show or hide this help"],
  ["Esc", "this help", "close it"],
  ["/", "anywhere", "focus the search box"],
  ["f", "a run, an episode", "next failed episode of the run (outcome not passed)"],
  ["e", "timeline", "next event with an error"],
  ["↑ / ↓", "timeline (after clicking a row)", "previous / next event"],
  ["→ or j", "replay", "next move"],
  ["← or k", "replay", "previous move"],
  ["Enter, →", "span tree (a focused span)", "show it / open it"],
];

// --- loading indicator -----------------------------------------------------------------
function loadingIndicator() {
  let bar = document.getElementById("loading");
  if (!bar) {
    bar = el("div", { id: "loading", role: "status", "aria-live": "polite", hidden: true }, "loading…");
    (document.querySelector("header.top") || document.body).append(bar);
  }
  return bar;
}
function loadingStarted() { const bar = loadingIndicator(); bar.classList.remove("notice"); bar.textContent = "loading…"; bar.hidden = false; }
function loadingDone() { loadingIndicator().hidden = true; }

// --- help overlay ------------------------------------------------------------------------
function closeHelp() {
  const box = document.getElementById("help");
  if (box) box.remove();
  return Boolean(box);
}
function toggleHelp() {
  if (closeHelp()) return;
  const close = el("button", { type: "button", class: "link", id: "help-close", onclick: closeHelp }, "close (Esc)");
  const box = el("div", { id: "help", class: "overlay", role: "dialog", "aria-modal": "true", "aria-label": "keyboard help" },
    el("div", { class: "overlay-box" }, el("h3", {}, "Keyboard"),
      el("table", { class: "grid" }, el("thead", {}, el("tr", {}, el("th", {}, "key"), el("th", {}, "where"), el("th", {}, "does"))),
        el("tbody", {}, KEYS.map(([key, where, what]) => el("tr", {}, el("td", {}, el("kbd", {}, key)), el("td", {}, where), el("td", {}, what))))),
      el("p", { class: "muted small" }, "Keys are ignored while typing in a field."), close));
  box.addEventListener("click", (e) => { if (e.target === box) closeHelp(); });
  document.body.append(box);
  close.focus();
}

// --- next failed episode, next error --------------------------------------------------------
function notice(text) {
  const bar = loadingIndicator();
  bar.textContent = text;
  bar.classList.add("notice");
  bar.hidden = false;
  setTimeout(() => { if (bar.textContent === text) { bar.hidden = true; bar.classList.remove("notice"); bar.textContent = "loading…"; } }, 2500);
}

// On a run's page: its first episode not passed; on an episode's: the run's next one.
async function nextFailed(parts) {
  if (EMBEDDED) return;
  let path = null;
  if (parts[0] === "run" && parts[1]) path = `runs/${enc(parts[1])}/next-failed`;
  if (parts[0] === "episode" && parts[1]) path = `episodes/${enc(parts[1])}/next-failed`;
  if (!path) return;
  const next = await api(path);
  if (next && next.id && next.id !== parts[1]) location.hash = route("episode", next.id);
  else notice(next && next.id ? "this is the run's only episode that did not pass" : "every episode of this run passed");
}

// On the timeline: select the next event whose status is error (after the selected one).
async function nextError(parts, params) {
  const timeline = document.getElementById("timeline");
  if (EMBEDDED || !timeline || typeof timeline.goTo !== "function" || parts[0] !== "episode") return;
  const q = new URLSearchParams({ after: params.get("seq") || "-1" });
  if (params.get("kinds")) q.set("kinds", params.get("kinds"));
  const next = await api(`episodes/${enc(parts[1])}/next-error?` + q);
  if (next && next.seq !== null) timeline.goTo(next.seq, next.index);
  else notice("no event of this episode has an error");
}

function currentRoute() {
  const [path, query] = (location.hash.slice(2) || "").split("?");
  const parts = path.split("/").filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch (_) { return p; } });
  return [parts, new URLSearchParams(query || "")];
}

// The keys of this file; true when the key was one of them.
function viewerKey(e) {
  if (e.key === "Escape") return closeHelp();
  if (e.key === "?") { toggleHelp(); return true; }
  const [parts, params] = currentRoute();
  const quiet = (err) => { if (!(err instanceof StaleRoute)) notice("error: " + (err && err.message ? err.message : err)); };
  if (e.key === "f") { nextFailed(parts).catch(quiet); return true; }
  if (e.key === "e") { nextError(parts, params).catch(quiet); return true; }
  return false;
}
