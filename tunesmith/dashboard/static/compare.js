// The compare page: pick two or more studies, overlay their best-so-far curves.
import { api, card, clear, drawFigure, fmtNumber, h, link, pageUrl, plotMessage, plotText, studyPath } from "./core.js";

export async function renderCompare(root, { params, stale }) {
  const picked = new Set((params.get("studies") || "").split(",").filter(Boolean));
  const { studies } = await api("/studies");
  if (stale()) return;
  const plot = h("div", { class: "plot tall", id: "compare-plot" });
  const summary = h("div", { id: "compare-summary" });
  const boxes = h("div", { class: "pick-list", id: "compare-pick" }, studies.map((s) => h("label", {},
    h("input", { type: "checkbox", value: s.name, checked: picked.has(s.name), onchange: (e) => {
      if (e.target.checked) picked.add(s.name); else picked.delete(s.name);
      update();
    } }), " ", s.name)));
  clear(root,
    h("div", { class: "page-head" }, h("h1", { text: "Compare studies" })),
    card("Studies", { wide: true }, studies.length ? boxes : h("p", { class: "muted", text: "No studies in this storage." })),
    card("Best value so far", { wide: true }, plot, summary));

  async function update() {
    const names = [...picked];
    const query = names.length ? `?studies=${names.map(encodeURIComponent).join(",")}` : "";
    window.history.replaceState(null, "", pageUrl(`/compare${query}`));
    if (names.length < 2) {
      plotMessage(plot, "Pick two or more studies.");
      clear(summary);
      return;
    }
    try {
      const data = await api("/compare", { studies: names.join(",") });
      if (stale()) return;
      if (!plot.data) clear(plot);
      const entries = data.studies.map(entry);
      const traces = entries.map(({ summary: s, numbers, best }) => ({
        type: "scatter", mode: "lines+markers", line: { shape: "hv" }, marker: { size: 4 }, name: plotText(s.name),
        x: numbers, y: best,
      }));
      await drawFigure(plot, { data: traces, layout: {
        xaxis: { title: { text: "trial" } }, yaxis: { title: { text: "best value so far" } }, legend: { orientation: "h", y: -0.2 },
      } });
      clear(summary, h("table", { class: "data" },
        h("thead", {}, h("tr", {}, ["Study", "Directions", "Trials", "Best value"].map((x) => h("th", { text: x })))),
        h("tbody", {}, entries.map(({ summary: s }) => h("tr", {},
          h("td", {}, link(studyPath(s.name), s.name)), h("td", { text: (s.directions || []).join(", ") }),
          h("td", { class: "num", text: String(s.n_trials) }), h("td", { class: "num", text: fmtNumber(s.best_value) }))))));
    } catch (error) {
      if (!stale()) plotMessage(plot, `Could not compare: ${error.message || error}`);
    }
  }
  await update();
}

/** One study of the compare answer: its summary and best-so-far points (where the best changed). */
function entry(item) {
  const summary = item.summary || item;
  const history = item.history || [];
  if (Array.isArray(history)) {
    return { summary, numbers: history.map((p) => p.number), best: history.map((p) => p.best_value) };
  }
  return { summary, numbers: history.numbers || [], best: history.best || [] };
}
