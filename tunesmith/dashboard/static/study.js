// The study page: summary, plots, diagnosis, notes, the trials table, all kept live by the stream.
import {
  ApiError, WRITABLE, afterPaint, api, card, clear, countBadges, drawFigure, fmtAgo, fmtNumber, fmtTime, h, link,
  loadPlotly, plotMessage, select, studyPath, subscribe, throttle, trialPath, unplotText,
} from "./core.js";
import { brushFilters } from "./brush.js";
import { trialsTable } from "./table.js";

const HISTORY_POINTS = 1000; // the server prefetches this history (PAGE_HISTORY_POINTS in _api.py)
const EVALUATORS = [["ped_anova", "PED-ANOVA"], ["fanova", "fANOVA"], ["mdi", "MDI (random forest)"]];

export async function renderStudy(root, name, { onLeave, stale }) {
  loadPlotly().catch(() => {}); // parsed while the server answers; a failure shows on the first plot
  // quick: a server that has not loaded the study's trials yet answers from its summaries (version null);
  // the full answer (and the cursor for the stream) is asked for once the history is drawn.
  let study = await api(studyPath(name), { quick: 1 });
  if (stale()) return;
  const multi = (study.directions || []).length > 1;
  const params = study.params || [];
  const numeric = params.filter((p) => p.kind !== "categorical" && !p.choices);
  const running = new Set();
  const ui = { target: "", evaluator: "ped_anova", slice: "", contour: [], selected: [] };

  // Header: counts and the best value, updated by the stream.
  const counts = h("span", { id: "study-counts" }, countBadges(study.counts));
  const best = h("span", { id: "study-best", class: "num" }, fmtNumber(study.best_value));
  const status = h("p", { class: "error", hidden: true });
  // Several objectives: the plots of one target need it named; the first objective by default.
  if (multi) ui.target = study.metric_names[0];
  const targetPicker = multi
    ? h("label", { class: "muted" }, "target ", select(study.metric_names, {
      value: ui.target, label: "Target", onchange: (e) => { ui.target = e.target.value; drawAll(); },
    }))
    : null;

  // A plot is drawn once it comes near the window: the first screen is ready sooner, and a
  // live update re-reads only the plots someone has looked at.
  const plots = {};
  const pending = new Map();
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      entry.target.dataset.visible = "1";
      const draw = pending.get(entry.target.id);
      pending.delete(entry.target.id);
      if (draw) draw();
    }
  }, { rootMargin: "400px 0px" });
  const plotDiv = (kind) => {
    plots[kind] = h("div", { class: "plot", id: kind });
    observer.observe(plots[kind]);
    return plots[kind];
  };
  const whenVisible = (kind, draw) => {
    if (plots[kind] && plots[kind].dataset.visible) return draw();
    pending.set(kind, draw);
    return Promise.resolve();
  };
  const refresh = (fn) => h("button", { type: "button", class: "icon", title: "Redraw", "aria-label": "Redraw", onclick: fn }, "↻");

  const sliceSelect = select([["", "all parameters"], ...params.map((p) => [p.name, p.name])], {
    label: "Slice parameter", onchange: (e) => { ui.slice = e.target.value; drawSlice(); },
  });
  const contourDefaults = (numeric.length >= 2 ? numeric : params).slice(0, 2).map((p) => p.name);
  ui.contour = contourDefaults;
  const contourX = select(params.map((p) => p.name), { value: contourDefaults[0], label: "Contour x", onchange: () => { ui.contour[0] = contourX.value; drawContour(); } });
  const contourY = select(params.map((p) => p.name), { value: contourDefaults[1], label: "Contour y", onchange: () => { ui.contour[1] = contourY.value; drawContour(); } });
  const evaluatorSelect = select(EVALUATORS, { value: ui.evaluator, label: "Importance evaluator", onchange: (e) => { ui.evaluator = e.target.value; drawImportance(); } });
  const brushHint = h("span", { class: "muted small" }, "drag along an axis to filter the table");

  const table = trialsTable(study, {
    onSelect: (numbers) => { ui.selected = numbers; drawIntermediate(); },
    onError: (error) => showError(error),
    onRemoveFilter: (param) => {
      const div = plots.parallel;
      const dims = (div && div.data && div.data[0].dimensions) || [];
      const index = dims.findIndex((d) => d.label === param || unplotText(d.label) === param);
      if (index < 0 || !window.Plotly) return false;
      window.Plotly.restyle(div, { [`dimensions[${index}].constraintrange`]: null }, [0]);
      return true;
    },
  });

  clear(root,
    h("nav", { class: "crumbs" }, link("/", "Studies"), " / ", h("span", { text: study.name })),
    h("div", { class: "page-head" },
      h("h1", { text: study.name }),
      h("span", { class: "muted" }, (study.directions || []).join(", ")),
      targetPicker),
    h("dl", { class: "facts" },
      fact("Trials", h("span", { id: "study-total" }, String(study.n_trials)), " ", counts),
      fact("Best", best, study.best_trial ? [" (", link(trialPath(study.name, study.best_trial.number ?? study.best_trial), `trial ${study.best_trial.number ?? study.best_trial}`), ")"] : null),
      fact("Metrics", (study.metric_names || []).join(", ") || "—"),
      fact("Created", fmtTime(study.created_at)),
      fact("Last activity", h("span", { id: "study-activity", title: fmtTime(study.last_activity) }, fmtAgo(study.last_activity)))),
    status,
    h("div", { class: "grid" },
      card("Optimization history", { controls: [refresh(() => drawHistory())] }, plotDiv("history")),
      card("Intermediate values", { controls: [h("span", { class: "muted small" }, "picked and running trials"), refresh(() => drawIntermediate())] }, plotDiv("intermediate")),
      multi ? card("Pareto front", { controls: [refresh(() => drawKind("pareto"))] }, plotDiv("pareto")) : null,
      multi ? card("Hypervolume", { controls: [refresh(() => drawKind("hypervolume"))] }, plotDiv("hypervolume")) : null,
      card("Parallel coordinates", { wide: true, controls: [brushHint, refresh(() => drawParallel())] }, plotDiv("parallel")),
      card("Trials", { wide: true, id: "trials-card" }, table.node),
      card("Slice", { controls: [sliceSelect] }, plotDiv("slice")),
      card("Contour", { controls: [contourX, contourY] }, plotDiv("contour")),
      card("Importance", { controls: [evaluatorSelect] }, plotDiv("importance")),
      card("Diagnosis", { id: "diagnosis-card" }, h("div", { id: "diagnosis" }, h("p", { class: "muted", text: "Loading…" }))),
      card("Timeline", { wide: true, controls: [refresh(() => drawKind("timeline"))] }, plotDiv("timeline")),
      notesCard(study)));

  function showError(error) {
    status.hidden = false;
    status.textContent = String(error.message || error);
  }

  const withTarget = (query = {}) => (ui.target ? { ...query, target: ui.target } : query);

  const drawKind = (kind, query = {}) => whenVisible(kind, () => fetchAndDraw(kind, query));

  async function fetchAndDraw(kind, query) {
    const div = plots[kind];
    if (!div) return;
    try {
      const figure = await api(`${studyPath(name)}/plot/${kind}`, query);
      if (stale()) return;
      if (kind === "intermediate" && !hasPoints(figure)) {
        plotMessage(div, "No trial has reported intermediate values yet.");
        div.dataset.drawn = String(Number(div.dataset.drawn || 0) + 1);
        return;
      }
      if (!div.data) clear(div); // drop a message left by an earlier failure
      // The card already names the plot; only the figure's "(n of N trials)" is kept, as a note.
      const title = figure.layout && figure.layout.title;
      const text = typeof title === "string" ? title : (title && title.text) || "";
      const shown = /\(([^()]*\bof\b[^()]*)\)\s*$/.exec(text);
      const note = div.closest(".card").querySelector(".plot-note");
      if (note) note.textContent = shown ? shown[1] : "";
      if (figure.layout) delete figure.layout.title;
      // uirevision keeps the reader's zoom and legend picks across live redraws.
      // Parcoords labels sit above the axes (at an angle): they need room at the top.
      const t0 = performance.now();
      await drawFigure(div, figure, kind === "parallel" ? { uirevision: kind, margin: { t: 96, l: 90, r: 90 } } : { uirevision: kind });
      div.dataset.ms = String(Math.round(performance.now() - t0));
      div.dataset.drawn = String(Number(div.dataset.drawn || 0) + 1);
    } catch (error) {
      if (stale()) return;
      if (error instanceof ApiError && error.status === 400) plotMessage(div, error.message);
      else plotMessage(div, `Could not draw: ${error.message || error}`);
      div.dataset.drawn = String(Number(div.dataset.drawn || 0) + 1);
    }
  }

  // The improving trials and a stratified 1000 of the rest (the server thins): light to send and to draw.
  const drawHistory = () => drawKind("history", withTarget({ max_trials: HISTORY_POINTS }));
  const drawSlice = () => drawKind("slice", withTarget({ params: ui.slice }));
  const drawContour = () => (params.length < 2
    ? plotMessage(plots.contour, "A contour needs two parameters.")
    : drawKind("contour", withTarget({ params: ui.contour.join(",") })));
  const drawImportance = () => drawKind("importance", withTarget({ evaluator: ui.evaluator }));
  function drawIntermediate() {
    const numbers = [...new Set([...ui.selected, ...running])].sort((a, b) => a - b);
    return drawKind("intermediate", numbers.length ? { trials: numbers.join(",") } : {});
  }

  const drawParallel = () => whenVisible("parallel", parallelNow);

  async function parallelNow() {
    await fetchAndDraw("parallel", withTarget());
    const div = plots.parallel;
    if (!div.data || div.dataset.brushBound) return;
    div.dataset.brushBound = "1";
    // A brush on an axis sets that dimension's constraintrange and fires plotly_restyle.
    div.on("plotly_restyle", () => {
      const { ranges, choices } = brushFilters(div.data[0], params);
      table.setFilters(ranges, choices);
    });
  }

  async function drawDiagnosis() {
    const box = document.getElementById("diagnosis");
    try {
      const diagnosis = await api(`${studyPath(name)}/diagnosis`);
      if (stale() || !box) return;
      const findings = diagnosis.findings || [];
      const summary = Object.entries(diagnosis.summary || {});
      clear(box,
        summary.length ? h("p", { class: "counts" }, summary.filter(([, n]) => n).map(([kind, n]) => h("span", { class: "badge", text: `${n} ${kind}` }))) : null,
        findings.length ? h("ul", { class: "findings" }, findings.slice(0, 200).map((f) => h("li", {},
          h("span", { class: "badge finding", text: f.kind }), " ",
          f.trial !== null && f.trial !== undefined ? link(trialPath(name, f.trial), `trial ${f.trial}`) : null,
          f.steps && f.steps.length ? h("span", { class: "muted", text: ` steps ${f.steps[0]}–${f.steps[f.steps.length - 1]}` }) : null,
          h("div", { text: f.message }),
          f.advice ? h("div", { class: "muted", text: f.advice }) : null)))
          : h("p", { class: "muted", text: "No findings: nothing in the trials looks wrong." }),
        findings.length > 200 ? h("p", { class: "muted", text: `… and ${findings.length - 200} more` }) : null);
    } catch (error) {
      if (!stale() && box) clear(box, h("p", { class: "muted", text: `Diagnosis unavailable: ${error.message || error}` }));
    }
  }

  function drawAll({ history = true } = {}) {
    if (history) drawHistory();
    if (multi) {
      drawKind("pareto");
      drawKind("hypervolume");
    }
    drawParallel();
    drawSlice();
    drawContour();
    drawImportance();
    drawIntermediate();
    drawKind("timeline");
  }

  // First paint: the history alone (the first useful picture). The table, the other plots (the
  // WebGL parallel coordinates above all) and the diagnosis come after it is on screen.
  plots.history.dataset.visible = "1";
  observer.unobserve(plots.history);
  await drawHistory();
  await afterPaint();
  if (stale()) {
    observer.disconnect();
    return;
  }
  if (study.version === null || study.version === undefined) {
    const quickTotal = study.n_trials;
    try {
      study = await api(studyPath(name));
    } catch (error) {
      if (!stale()) showError(error);
      observer.disconnect();
      return;
    }
    if (stale()) {
      observer.disconnect();
      return;
    }
    clear(counts, countBadges(study.counts));
    best.textContent = fmtNumber(study.best_value);
    document.getElementById("study-total").textContent = String(study.n_trials);
    const activity = document.getElementById("study-activity");
    if (activity) {
      activity.textContent = fmtAgo(study.last_activity);
      activity.title = fmtTime(study.last_activity);
    }
    if (study.n_trials !== quickTotal) drawHistory(); // trials came between the two answers
  }
  await table.reload();
  if (stale()) {
    observer.disconnect();
    return;
  }
  drawAll({ history: false });
  drawDiagnosis();

  // Live: the stream carries only the trials that changed; plots are re-read at most every 2 s.
  const liveHistory = throttle(() => {
    drawHistory();
    if (multi) drawKind("pareto");
    drawKind("timeline");
  }, 2000);
  const liveCurves = throttle(drawIntermediate, 2000);
  const liveDiagnosis = throttle(drawDiagnosis, 10000);
  const stop = subscribe(name, study.version, (update) => {
    if (update.counts) {
      clear(counts, countBadges(update.counts));
      const total = Object.values(update.counts).reduce((a, b) => a + b, 0);
      document.getElementById("study-total").textContent = String(total);
    }
    if ("best_value" in update) best.textContent = fmtNumber(update.best_value);
    const activity = document.getElementById("study-activity");
    if (activity) activity.textContent = "just now";
    const trials = update.trials || [];
    if (!trials.length) return;
    let curves = false;
    for (const t of trials) {
      if (t.state === "RUNNING") {
        if (!running.has(t.number)) curves = true;
        running.add(t.number);
        if (t.last_step !== null && t.last_step !== undefined) curves = true;
      } else if (running.delete(t.number) || ui.selected.includes(t.number)) {
        curves = true;
      }
    }
    table.applyChanges(trials);
    liveHistory();
    if (curves) liveCurves();
    liveDiagnosis();
  });
  onLeave(() => {
    observer.disconnect();
    stop();
    liveHistory.cancel();
    liveCurves.cancel();
    liveDiagnosis.cancel();
    table.stop();
    for (const div of Object.values(plots)) if (div.data) window.Plotly.purge(div);
  });
}

function hasPoints(figure) {
  return (figure.data || []).some((trace) => {
    const x = trace.x;
    return x && (Array.isArray(x) ? x.length > 0 : typeof x.bdata === "string" && x.bdata.length > 0);
  });
}

function fact(label, ...value) {
  return h("div", { class: "fact" }, h("dt", { text: label }), h("dd", {}, value));
}

/** Notes, editable only while the server accepts writes (a 403 on save hides the editor). */
function notesCard(study) {
  const notes = (study.user_attrs || {}).notes || "";
  const text = h("p", { class: "notes", id: "notes-text", text: notes || "No notes." });
  const hint = h("p", { class: "muted small", hidden: true, text: "This dashboard is read-only (start it with --allow-writes to edit notes)." });
  const area = h("textarea", { id: "notes-input", rows: 5, "aria-label": "Study notes" });
  const save = h("button", { type: "button", id: "notes-save" }, "Save");
  const cancel = h("button", { type: "button" }, "Cancel");
  const editor = h("div", { class: "notes-editor", hidden: true }, area, h("div", { class: "toolbar" }, save, cancel));
  const writable = study.writable ?? WRITABLE;
  const edit = h("button", { type: "button", id: "notes-edit", hidden: writable === false }, "Edit");
  edit.addEventListener("click", () => {
    area.value = text.dataset.raw ?? notes;
    editor.hidden = false;
    text.hidden = true;
    edit.hidden = true;
    area.focus();
  });
  cancel.addEventListener("click", () => { editor.hidden = true; text.hidden = false; edit.hidden = false; });
  save.addEventListener("click", async () => {
    try {
      await api(`${studyPath(study.name)}/notes`, {}, {
        method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ notes: area.value }),
      });
      text.dataset.raw = area.value;
      text.textContent = area.value || "No notes.";
      editor.hidden = true;
      text.hidden = false;
      edit.hidden = false;
    } catch (error) {
      editor.hidden = true;
      text.hidden = false;
      if (error instanceof ApiError && error.status === 403) {
        hint.hidden = false; // the editor stays hidden for this page
      } else {
        edit.hidden = false;
        hint.hidden = false;
        hint.textContent = `Could not save: ${error.message || error}`;
      }
    }
  });
  return card("Notes", { id: "notes-card", wide: true, controls: [edit] }, text, editor, hint);
}
