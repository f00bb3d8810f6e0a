// sandlot viewer: the hash router, the search box and the keyboard. Loaded last.
"use strict";

async function router() {
  const mine = ++routeToken;
  const [path, query] = (location.hash.slice(2) || "").split("?");
  const parts = path.split("/").filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch (_) { return p; } });
  const params = new URLSearchParams(query || "");
  window.scrollTo(0, 0);
  loadingStarted();  // at once; cleared when this page has drawn (keys.js)
  try {
    if (EMBEDDED) return await pageEpisode(EMBEDDED.data.episode.id, params);
    if (parts[0] === "run" && parts[1]) return await pageRun(parts[1], params);
    if (parts[0] === "episode" && parts[1]) return await pageEpisode(parts[1], params);
    if (parts[0] === "compare" && parts[2]) return await pageCompare(parts[1], parts[2]);
    if (parts[0] === "runs-compare" && parts[2]) return await pageRunsCompare(parts[1], parts[2]);
    if (parts[0] === "search") return await pageSearch(params);
    return await pageRuns();
  } catch (err) {
    if (mine === routeToken && !(err instanceof StaleRoute)) show(el("h2", {}, "Something went wrong"), errorBox(err), el("p", {}, el("a", { href: "#/" }, "back to the runs")));
  } finally {
    if (mine === routeToken) loadingDone();
  }
}

const searchForm = document.getElementById("search-form");
if (searchForm) {
  if (EMBEDDED) searchForm.remove();  // an export holds one episode: nothing to search
  else searchForm.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = withQuery("#/search", { q: document.getElementById("search").value });
  });
}

const typing = (t) => t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || (t && t.isContentEditable);
document.addEventListener("keydown", (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const inRange = e.target instanceof HTMLInputElement && e.target.type === "range";
  if (typing(e.target) && !inRange) return;
  if (viewerKey(e)) { e.preventDefault(); return; }  // ?, Esc, f, e (keys.js)
  if (document.getElementById("step-view")) {
    const button = { ArrowRight: "next", j: "next", ArrowLeft: "prev", k: "prev" }[e.key];
    if (button) { e.preventDefault(); document.getElementById(button).click(); return; }
  }
  if (e.key === "/" && document.getElementById("search")) { e.preventDefault(); document.getElementById("search").focus(); }
});

window.addEventListener("hashchange", router);
router();
