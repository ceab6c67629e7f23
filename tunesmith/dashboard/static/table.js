// The trials table of a study page: server-side sort, state filter, brushed ranges, pagination, CSV.
import {
  STATES, api, apiUrl, clear, fmtDuration, fmtNumber, fmtTime, fmtValue, h, link, select, stateBadge,
  studyPath, throttle, trialPath,
} from "./core.js";

const PAGE_SIZES = [25, 50, 100, 250];

/**
 * The table for ``study`` (the study summary). ``onSelect(numbers)`` is called when the picked
 * rows change. Returns ``{node, reload, applyChanges, setFilters, selected}``.
 */
export function trialsTable(study, { onSelect = () => {}, onError = () => {}, onRemoveFilter = () => false } = {}) {
  const metrics = study.metric_names && study.metric_names.length ? study.metric_names : ["value"];
  const params = (study.params || []).map((p) => p.name);
  const state = {
    offset: 0, limit: 25, sort: "number", order: "desc",
    states: new Set(), ranges: new Map(), choices: new Map(), selected: new Set(), total: 0, trials: [],
  };

  const columns = [
    { label: "#", sort: "number", cell: (t) => link(trialPath(study.name, t.number), String(t.number)), cls: "num" },
    { label: "State", sort: "state", cell: (t) => stateBadge(t.state) },
    ...metrics.map((m) => ({ label: m, sort: `values.${m}`, cell: (t) => fmtNumber((t.values || {})[m]), cls: "num" })),
    ...params.map((p) => ({ label: p, sort: `params.${p}`, cell: (t) => fmtValue((t.params || {})[p]), cls: "param" })),
    { label: "Step", sort: null, cell: (t) => fmtNumber(t.last_step), cls: "num" },
    { label: "Duration", sort: "duration", cell: (t) => fmtDuration(t.duration), cls: "num" },
    { label: "Started", sort: "started_at", cell: (t) => fmtTime(t.started_at) },
  ];

  const stateBoxes = STATES.map((s) => {
    const box = h("input", { type: "checkbox", value: s, onchange: () => {
      if (box.checked) state.states.add(s); else state.states.delete(s);
      state.offset = 0;
      reload();
    } });
    return h("label", { class: `state-filter state-${s.toLowerCase()}` }, box, " ", s.toLowerCase());
  });
  const filterChips = h("span", { class: "chips", id: "brush-filters" });
  const pageInfo = h("span", { class: "page-info muted" });
  const prev = h("button", { type: "button", class: "prev", onclick: () => { state.offset = Math.max(0, state.offset - state.limit); reload(); } }, "‹ Prev");
  const next = h("button", { type: "button", class: "next", onclick: () => { state.offset += state.limit; reload(); } }, "Next ›");
  const size = select(PAGE_SIZES, { value: state.limit, label: "Rows per page", onchange: () => {
    state.limit = Number(size.value);
    state.offset = 0;
    reload();
  } });
  const csv = h("a", { class: "button", id: "csv-link", download: `${study.name}-trials.csv` }, "CSV");
  const head = h("tr");
  const body = h("tbody");
  const table = h("table", { class: "data trials", id: "trials" }, h("thead", {}, head), body);
  const node = h("div", { class: "trials-box" },
    h("div", { class: "toolbar" }, h("span", { class: "state-filters" }, stateBoxes), filterChips),
    h("div", { class: "table-wrap" }, table),
    h("div", { class: "toolbar pager" }, prev, pageInfo, next, h("label", { class: "muted" }, "rows ", size), csv));

  function query() {
    const range = [...state.ranges].map(([p, [lo, hi]]) => `${p}:${lo}:${hi}`);
    const choice = [...state.choices].map(([p, values]) => `${p}:${values.join(",")}`);
    return {
      sort: state.sort, order: state.order, state: [...state.states],
      // Several ranges or choices are several parameters of the same name.
      range: range.length ? range : undefined, choice: choice.length ? choice : undefined,
    };
  }

  function queryParams(extra) {
    // Repeated keys (range=..&range=..) keep each filter whole even when a value holds a comma.
    const q = query();
    const base = { ...extra, sort: q.sort, order: q.order, state: q.state };
    const url = new URL(apiUrl(`${studyPath(study.name)}/trials`, base), window.location.origin);
    for (const r of q.range || []) url.searchParams.append("range", r);
    for (const c of q.choice || []) url.searchParams.append("choice", c);
    return url.pathname + url.search;
  }

  function drawHead() {
    clear(head, h("th", { class: "pick", title: "Pick trials to plot their intermediate values" }),
      columns.map((col) => {
        const active = col.sort !== null && state.sort === col.sort;
        return h("th", {
          class: col.sort ? `sortable ${col.cls || ""}` : col.cls || "", dataset: { sort: col.sort || "" },
          "aria-sort": active ? (state.order === "desc" ? "descending" : "ascending") : "none",
          onclick: col.sort ? () => {
            state.order = active && state.order === "asc" ? "desc" : active ? "asc" : col.sort === "number" ? "desc" : "asc";
            state.sort = col.sort;
            state.offset = 0;
            reload();
          } : null,
        }, col.label, active ? (state.order === "desc" ? " ▾" : " ▴") : "");
      }));
  }

  function row(t) {
    const box = h("input", {
      type: "checkbox", "aria-label": `Plot trial ${t.number}`, checked: state.selected.has(t.number),
      onchange: () => {
        if (box.checked) state.selected.add(t.number); else state.selected.delete(t.number);
        onSelect([...state.selected]);
      },
    });
    return h("tr", { dataset: { number: t.number }, class: `row-${String(t.state).toLowerCase()}` },
      h("td", { class: "pick" }, box), columns.map((col) => h("td", { class: col.cls || "" }, col.cell(t))));
  }

  function drawBody() {
    const { total, trials } = state;
    clear(body, trials.length ? trials.map(row)
      : h("tr", {}, h("td", { colspan: columns.length + 1, class: "muted", text: "No trials match." })));
    const first = total ? state.offset + 1 : 0;
    pageInfo.textContent = `${first}–${state.offset + trials.length} of ${total}`;
    prev.disabled = state.offset <= 0;
    next.disabled = state.offset + state.limit >= total;
    csv.href = queryParams({ format: "csv" });
    // Removing a chip clears the brush it came from (which re-filters), or else just the filter.
    const remove = (p, filters) => () => {
      if (onRemoveFilter(p)) return;
      filters.delete(p);
      reload();
    };
    clear(filterChips, [...state.ranges].map(([p, [lo, hi]]) => chip(`${p} ∈ [${fmtNumber(lo)}, ${fmtNumber(hi)}]`, remove(p, state.ranges))),
      [...state.choices].map(([p, values]) => chip(`${p} ∈ {${values.join(", ")}}`, remove(p, state.choices))));
  }

  function chip(text, remove) {
    return h("span", { class: "chip" }, text, h("button", { type: "button", class: "chip-x", "aria-label": `Remove filter ${text}`, onclick: () => { state.offset = 0; remove(); } }, "×"));
  }

  let loading = null;
  async function reload() {
    drawHead();
    const mine = (loading = {});
    table.dataset.loading = "1"; // for whoever waits on the table (tests, screenshots)
    try {
      const response = await fetch(queryParams({ offset: state.offset, limit: state.limit }), { credentials: "same-origin" });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || data.detail || response.statusText);
      if (mine !== loading) return; // a newer request answers
      state.total = data.total;
      state.trials = data.trials;
      if (state.offset >= state.total && state.total > 0) {
        state.offset = Math.floor((state.total - 1) / state.limit) * state.limit;
        reload();
        return;
      }
      drawBody();
      delete table.dataset.loading;
    } catch (error) {
      if (mine === loading) delete table.dataset.loading;
      onError(error);
    }
  }
  const reloadSoon = throttle(reload, 2000);

  /** Replace rows of changed trials shown on this page; re-read the page when one is not shown. */
  function applyChanges(trials) {
    let missing = false;
    for (const t of trials) {
      const index = state.trials.findIndex((r) => r.number === t.number);
      if (index >= 0) {
        state.trials[index] = { ...state.trials[index], ...t };
        const old = body.querySelector(`tr[data-number="${Number(t.number)}"]`);
        if (old) old.replaceWith(row(state.trials[index]));
      } else {
        missing = true;
      }
    }
    if (missing || state.sort !== "number") reloadSoon();
  }

  /** Filters from the parallel-coordinates brush: ``ranges`` {param: [lo, hi]}, ``choices`` {param: [values]}. */
  function setFilters(ranges, choices) {
    state.ranges = new Map(Object.entries(ranges));
    state.choices = new Map(Object.entries(choices));
    state.offset = 0;
    reload();
  }

  return {
    node, reload, applyChanges, setFilters, selected: () => [...state.selected],
    stop: () => reloadSoon.cancel(),
  };
}
