// The dashboard's entry point: routes the address (History API) to a page view.
import { BASE, clear, h } from "./core.js";
import { renderStudies } from "./studies.js";
import { renderStudy } from "./study.js";
import { renderTrial } from "./trial.js";
import { renderCompare } from "./compare.js";

const root = document.getElementById("app");
let teardown = [];
let current = 0; // the render in progress; an older one that resolves late draws nothing

function route(pathname) {
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) || "/" : pathname;
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { view: renderStudies, args: [] };
  if (parts.length === 1 && parts[0] === "compare") return { view: renderCompare, args: [] };
  if (parts[0] === "studies" && parts.length === 2) return { view: renderStudy, args: [parts[1]] };
  if (parts[0] === "studies" && parts.length === 4 && parts[2] === "trials") {
    return { view: renderTrial, args: [parts[1], Number(parts[3])] };
  }
  return null;
}

async function render() {
  for (const stop of teardown) stop();
  teardown = [];
  const found = route(window.location.pathname);
  if (found === null) {
    clear(root, h("h1", { text: "Not found" }), h("p", { text: `No page at ${window.location.pathname}` }));
    return;
  }
  const mine = ++current;
  const params = new URLSearchParams(window.location.search);
  const stale = () => mine !== current;
  const onLeave = (fn) => (stale() ? fn() : teardown.push(fn));
  try {
    await found.view(root, ...found.args, { params, onLeave, stale });
  } catch (error) {
    if (stale()) return;
    console.warn(error);
    clear(root, h("h1", { text: "Could not load this page" }), h("p", { class: "error", text: String(error.message || error) }));
  }
}

export function navigate(url, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.scrollTo(0, 0);
  render();
}

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[data-link]");
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute("href"));
});
window.addEventListener("popstate", render);
window.addEventListener("tunesmith:navigate", (event) => navigate(event.detail.url, event.detail));

render();
