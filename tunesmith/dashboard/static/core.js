// Shared helpers: the base URL, the JSON API, DOM building (elements and text nodes only), formatting, plots.

export const BASE = (document.querySelector('meta[name="tunesmith-base"]')?.content || "").replace(/\/$/, "");

// A token given once in the address (?token=) is kept for this page's requests and removed from
// the address bar, so it is not left in the history or copied along with a link.
const token = (() => {
  const url = new URL(window.location.href);
  const value = url.searchParams.get("token");
  if (value !== null) {
    url.searchParams.delete("token");
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }
  return value;
})();

/** Whether the server accepts writes: true, false, or null when the page was not told. */
export const WRITABLE = (() => {
  const value = document.querySelector('meta[name="tunesmith-writes"]')?.content;
  return value === "1" ? true : value === "0" ? false : null;
})();

export const STATES = ["COMPLETE", "PRUNED", "FAILED", "RUNNING", "WAITING", "PAUSED"];

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The URL of an API path (``/studies/x``) with query parameters (empty ones dropped). */
export function apiUrl(path, params = {}) {
  const url = new URL(`${BASE}/api${path}`, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    const text = Array.isArray(value) ? value.join(",") : value;
    if (text === undefined || text === null || text === "") continue;
    url.searchParams.set(key, String(text));
  }
  if (token !== null) url.searchParams.set("token", token);
  return url.pathname + url.search;
}

export async function api(path, params = {}, init = {}) {
  const response = await fetch(apiUrl(path, params), { credentials: "same-origin", ...init });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = (body && (body.error || body.detail)) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, typeof message === "string" ? message : JSON.stringify(message));
  }
  return body;
}

/** A page link inside the app (routed without a reload). */
export function pageUrl(path) {
  return `${BASE}${path}`;
}

export const studyPath = (name) => `/studies/${encodeURIComponent(name)}`;
export const trialPath = (name, number) => `${studyPath(name)}/trials/${number}`;

/**
 * Build an element. ``attrs``: ``class``, ``text`` (textContent), ``on<event>`` handlers,
 * ``dataset`` (an object), boolean/other attributes set as attributes. Children: nodes or strings
 * (strings become text nodes), null/false skipped, arrays flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else if (key === "checked" || key === "selected" || key === "disabled" || key === "hidden") node[key] = Boolean(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function link(path, ...children) {
  return h("a", { href: pageUrl(path), "data-link": true }, ...children);
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export function fmtNumber(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value !== "number") return String(value);
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
  return String(Number(value.toPrecision(5)));
}

export function fmtValue(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return fmtNumber(value);
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const date = new Date(typeof iso === "number" ? iso * 1000 : iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function fmtAgo(iso) {
  if (!iso) return "—";
  const date = new Date(typeof iso === "number" ? iso * 1000 : iso);
  const seconds = (Date.now() - date.getTime()) / 1000;
  if (Number.isNaN(seconds)) return String(iso);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return fmtTime(iso).slice(0, 10);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} m ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} m`;
}

export function stateBadge(state) {
  return h("span", { class: `badge state-${String(state).toLowerCase()}`, text: state });
}

/** Counts by state as small badges, zero counts left out. */
export function countBadges(counts = {}) {
  const parts = STATES.filter((s) => counts[s]).map((s) =>
    h("span", { class: `badge state-${s.toLowerCase()}`, title: s }, `${counts[s]} ${s.toLowerCase()}`));
  return h("span", { class: "counts" }, parts.length ? parts : h("span", { class: "muted", text: "no trials" }));
}

/** Plotly draws ``<b>``-style markup in labels; user strings go in as entities so they show as typed. */
export function plotText(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function unplotText(text) {
  return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

const PLOT_CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

const TYPED = {
  i1: Int8Array, u1: Uint8Array, u1c: Uint8ClampedArray, i2: Int16Array, u2: Uint16Array,
  i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array,
};

/**
 * plotly.py sends numpy arrays as ``{dtype, bdata (base64), shape}``. They become plain arrays
 * here (rows of arrays for 2-D), so a drawn figure's ``data[i].x`` is a list like any other.
 */
export function decodeArrays(value) {
  if (Array.isArray(value)) return value.map(decodeArrays);
  if (value === null || typeof value !== "object") return value;
  if (typeof value.bdata === "string" && typeof value.dtype === "string" && TYPED[value.dtype]) {
    const bytes = Uint8Array.from(atob(value.bdata), (c) => c.charCodeAt(0));
    const flat = Array.from(new TYPED[value.dtype](bytes.buffer));
    const shape = String(value.shape ?? "").split(",").map((n) => Number(n.trim())).filter((n) => n > 0);
    if (shape.length === 2) {
      const [rows, cols] = shape;
      return Array.from({ length: rows }, (_, r) => flat.slice(r * cols, (r + 1) * cols));
    }
    return flat;
  }
  const out = {};
  for (const [key, inner] of Object.entries(value)) out[key] = decodeArrays(inner);
  return out;
}

let plotlyLoading = null;
const SVG_POINTS = 2000;

/**
 * plotly.js, loaded on first use (a page with plots asks for it as it starts, so it is parsed while
 * the server answers; the page's preload link has it downloading already); pages without plots never
 * pay for parsing its 4 MB.
 */
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (plotlyLoading === null) {
    plotlyLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = document.querySelector('meta[name="tunesmith-plotly"]').content;
      script.addEventListener("load", () => resolve(window.Plotly));
      script.addEventListener("error", () => {
        plotlyLoading = null;
        reject(new Error("could not load plotly.min.js"));
      });
      document.head.append(script);
    });
  }
  return plotlyLoading;
}

/** Resolves once what is drawn so far has been painted (the next frame, then a task), so later work waits for it. */
export function afterPaint() {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve, 0));
  });
}

/** Draw a plotly figure ``{data, layout}`` into ``div`` (replacing what was there). */
export async function drawFigure(div, figure, extraLayout = {}) {
  const Plotly = await loadPlotly();
  figure = decodeArrays(figure);
  // A few points draw sooner as SVG than WebGL starts up (a context costs ~0.5 s on a slow machine).
  for (const trace of figure.data || []) {
    if (trace.type === "scattergl" && (!trace.x || trace.x.length <= SVG_POINTS)) trace.type = "scatter";
  }
  const layout = { ...(figure.layout || {}) };
  delete layout.width;
  delete layout.height;
  layout.autosize = true;
  layout.margin = { l: 56, r: 24, t: layout.title ? 44 : 16, b: 48, ...(extraLayout.margin || {}) };
  layout.font = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, ...(layout.font || {}) };
  layout.paper_bgcolor = "rgba(0,0,0,0)";
  Object.assign(layout, { ...extraLayout, margin: layout.margin });
  return Plotly.react(div, figure.data || [], layout, PLOT_CONFIG);
}

/** A message in place of a plot (a kind that does not apply, an error). */
export function plotMessage(div, message) {
  if (window.Plotly && div.data) window.Plotly.purge(div);
  clear(div, h("p", { class: "plot-message muted", text: message }));
}

/** Call ``fn`` at most once per ``ms``; calls in between are folded into one trailing call. */
export function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  const wrapped = () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
    } else if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        fn();
      }, wait);
    }
  };
  wrapped.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return wrapped;
}

/**
 * Subscribe to a study's change stream from ``version``; ``onUpdate`` gets each ``trials`` event's
 * data. Reconnects (with the latest version seen) when the connection drops. Returns a closer.
 */
export function subscribe(studyName, version, onUpdate) {
  let since = version;
  let source = null;
  let retry = null;
  let closed = false;
  const live = document.getElementById("live");
  const open = () => {
    source = new EventSource(apiUrl(`${studyPath(studyName)}/events`, { since }));
    source.addEventListener("open", () => { if (live) live.hidden = false; });
    source.addEventListener("trials", (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (data.version !== undefined && data.version !== null) since = data.version;
      onUpdate(data);
    });
    source.addEventListener("error", () => {
      if (live) live.hidden = true;
      source.close();
      if (!closed) retry = setTimeout(open, 2000);
    });
  };
  open();
  return () => {
    closed = true;
    if (retry !== null) clearTimeout(retry);
    if (source) source.close();
    if (live) live.hidden = true;
  };
}

/** A card: a titled box with optional controls, holding ``body``. */
export function card(title, { controls = [], id = null, wide = false } = {}, ...body) {
  return h("section", { class: wide ? "card wide" : "card", id },
    h("div", { class: "card-head" }, h("h2", {}, title, " ", h("span", { class: "plot-note muted small" })), h("div", { class: "controls" }, controls)),
    body);
}

export function select(options, { value = null, onchange = null, label = null, multiple = false } = {}) {
  const node = h("select", { onchange, "aria-label": label, multiple },
    options.map((opt) => {
      const [val, text] = Array.isArray(opt) ? opt : [opt, opt];
      return h("option", { value: val, selected: value !== null && String(val) === String(value) }, text);
    }));
  return node;
}
