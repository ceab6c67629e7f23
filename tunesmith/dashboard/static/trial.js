// The trial page: params, values, the reports as curves, error, checkpoints, attributes; live while running.
import {
  api, card, clear, drawFigure, fmtDuration, fmtNumber, fmtTime, fmtValue, h, link, plotMessage, plotText,
  stateBadge, studyPath, subscribe, throttle, trialPath,
} from "./core.js";

export async function renderTrial(root, name, number, { onLeave, stale }) {
  if (!Number.isInteger(number) || number < 0) throw new Error(`not a trial number: ${number}`);
  const [study, first] = await Promise.all([api(studyPath(name)), api(trialPath(name, number))]);
  if (stale()) return;
  const distributions = new Map((study.params || []).map((p) => [p.name, p]));
  const head = h("div", { class: "page-head" });
  const facts = h("dl", { class: "facts" });
  const paramsBox = h("div", { id: "trial-params" });
  const valuesBox = h("div", { id: "trial-values" });
  const curve = h("div", { class: "plot", id: "reports" });
  const errorBox = h("div", { id: "trial-error" });
  const checkpointsBox = h("div", { id: "trial-checkpoints" });
  const attrsBox = h("div", { id: "trial-attrs" });
  clear(root,
    h("nav", { class: "crumbs" }, link("/", "Studies"), " / ", link(studyPath(name), name), " / ", h("span", { text: `trial ${number}` })),
    head, facts,
    h("div", { class: "grid" },
      card("Parameters", {}, paramsBox),
      card("Values and last metrics", {}, valuesBox),
      card("Reports", { wide: true }, curve),
      card("Error", { wide: true, id: "error-card" }, errorBox),
      card("Checkpoints", {}, checkpointsBox),
      card("Attributes", {}, attrsBox)));

  function draw(trial) {
    clear(head, h("h1", { text: `Trial ${trial.number}` }), stateBadge(trial.state));
    clear(facts,
      fact("Started", fmtTime(trial.started_at)), fact("Finished", fmtTime(trial.finished_at)),
      fact("Duration", fmtDuration(trial.duration)), fact("Last step", fmtNumber(trial.last_step)),
      trial.attempt !== undefined && trial.attempt !== null ? fact("Attempt", String(trial.attempt)) : null,
      trial.retries && (Array.isArray(trial.retries) ? trial.retries.length : trial.retries)
        ? fact("Retries", Array.isArray(trial.retries) ? trial.retries.map(fmtValue).join(", ") : String(trial.retries)) : null);
    clear(paramsBox, keyValues(Object.entries(trial.params || {}).map(([key, value]) => {
      const dist = distributions.get(key);
      return [key, fmtValue(value), dist ? describe(dist) : ""];
    }), ["Parameter", "Value", "Distribution"], "trial-params-table"));
    clear(valuesBox, keyValues([
      ...Object.entries(trial.values || {}).map(([k, v]) => [k, fmtNumber(v), "objective"]),
      ...Object.entries(trial.metrics || {}).filter(([k]) => !(k in (trial.values || {}))).map(([k, v]) => [k, fmtValue(v), "metric"]),
    ], ["Name", "Value", ""], "trial-values-table"));
    drawReports(trial.reports || []);
    document.getElementById("error-card").hidden = !trial.error;
    clear(errorBox, trial.error ? h("pre", { class: "traceback", text: typeof trial.error === "string" ? trial.error : JSON.stringify(trial.error, null, 2) }) : null);
    const checkpoints = trial.checkpoints || [];
    clear(checkpointsBox, checkpoints.length
      ? h("table", { class: "data" }, h("thead", {}, h("tr", {}, h("th", { text: "Step" }), h("th", { text: "Path" }), h("th", { text: "Metrics" }))),
        h("tbody", {}, checkpoints.map((c) => h("tr", {}, h("td", { class: "num", text: fmtNumber(c.step) }),
          h("td", { class: "path", text: c.path }), h("td", { text: metricsText(c.metrics) })))))
      : h("p", { class: "muted", text: "No checkpoints." }));
    clear(attrsBox, keyValues(Object.entries(trial.user_attrs || {}).map(([k, v]) => [k, fmtValue(v)]), ["Attribute", "Value"], "trial-attrs-table", "No attributes."));
  }

  function drawReports(reports) {
    if (!reports.length) {
      plotMessage(curve, "No intermediate reports.");
      return;
    }
    const keys = [...new Set(reports.flatMap((r) => Object.keys(r.metrics || {})))];
    const numericKeys = keys.filter((k) => reports.some((r) => typeof (r.metrics || {})[k] === "number"));
    if (!numericKeys.length) {
      plotMessage(curve, "The reports hold no numbers to plot.");
      return;
    }
    if (!curve.data) clear(curve);
    const data = numericKeys.map((k, i) => ({
      type: "scatter", mode: reports.length > 1 ? "lines+markers" : "markers", name: plotText(k),
      x: reports.map((r) => r.step), y: reports.map((r) => (typeof (r.metrics || {})[k] === "number" ? r.metrics[k] : null)),
      yaxis: i === 0 ? "y" : "y2", marker: { size: 4 },
    }));
    const layout = {
      xaxis: { title: { text: "step" } }, yaxis: { title: { text: plotText(numericKeys[0]) } },
      legend: { orientation: "h", y: -0.2 }, uirevision: "reports",
    };
    if (numericKeys.length > 1) layout.yaxis2 = { overlaying: "y", side: "right", showgrid: false };
    drawFigure(curve, { data, layout });
  }

  draw(first);
  const reread = throttle(async () => {
    try {
      const trial = await api(trialPath(name, number));
      if (!stale()) draw(trial);
    } catch {
      // Kept as drawn; the next change tries again.
    }
  }, 1000);
  const stop = subscribe(name, study.version, (update) => {
    if ((update.trials || []).some((t) => t.number === number)) reread();
  });
  onLeave(() => {
    stop();
    reread.cancel();
    if (curve.data) window.Plotly.purge(curve);
  });
}

function fact(label, value) {
  return h("div", { class: "fact" }, h("dt", { text: label }), h("dd", { text: value }));
}

function describe(dist) {
  if (dist.choices) return `choice of ${dist.choices.length}`;
  const bounds = dist.low !== undefined && dist.low !== null ? `[${fmtNumber(dist.low)}, ${fmtNumber(dist.high)}]` : "";
  return `${dist.kind || dist.distribution || ""} ${bounds}${dist.log ? " log" : ""}`.trim();
}

function metricsText(metrics) {
  if (!metrics) return "";
  return Object.entries(metrics).map(([k, v]) => `${k}=${fmtValue(v)}`).join(", ");
}

function keyValues(rows, headers, id, empty = "Nothing recorded.") {
  if (!rows.length) return h("p", { class: "muted", text: empty });
  return h("table", { class: "data kv", id },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { text: x })))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c, i) => h("td", { class: i === 1 ? "num" : "", text: c }))))));
}
