// The studies list: search, sortable columns, live counts (polled), a pick for the compare page.
import { api, clear, countBadges, fmtAgo, fmtNumber, fmtTime, h, link, pageUrl, studyPath } from "./core.js";

const COLUMNS = [
  { key: "name", label: "Study", get: (s) => s.name.toLowerCase() },
  { key: "directions", label: "Directions", get: (s) => (s.directions || []).join(",") },
  { key: "n_trials", label: "Trials", get: (s) => s.n_trials },
  { key: "best_value", label: "Best value", get: (s) => s.best_value },
  { key: "last_activity", label: "Last activity", get: (s) => s.last_activity || "" },
  { key: "created_at", label: "Created", get: (s) => s.created_at || "" },
];

export async function renderStudies(root, { params, onLeave, stale }) {
  const state = { studies: (await api("/studies")).studies, sort: "last_activity", desc: true, query: params.get("q") || "", picked: new Set() };
  if (stale()) return;

  const search = h("input", {
    type: "search", placeholder: "Search studies", value: state.query, "aria-label": "Search studies", id: "study-search",
    oninput: () => { state.query = search.value; draw(); },
  });
  const compare = h("a", { class: "button", id: "compare-picked", "data-link": true, href: pageUrl("/compare") }, "Compare selected");
  const head = h("tr");
  const body = h("tbody");
  const count = h("span", { class: "muted" });
  clear(root,
    h("div", { class: "page-head" }, h("h1", { text: "Studies" }), count),
    h("div", { class: "toolbar" }, search, compare),
    h("div", { class: "table-wrap" }, h("table", { class: "data", id: "studies" }, h("thead", {}, head), body)));

  function drawHead() {
    clear(head, h("th", { class: "pick" }),
      COLUMNS.map((col) => h("th", {
        class: "sortable", "aria-sort": state.sort === col.key ? (state.desc ? "descending" : "ascending") : "none",
        dataset: { key: col.key },
        onclick: () => {
          state.desc = state.sort === col.key ? !state.desc : col.key !== "name";
          state.sort = col.key;
          draw();
        },
      }, col.label, state.sort === col.key ? (state.desc ? " ▾" : " ▴") : "")));
  }

  function draw() {
    drawHead();
    const query = state.query.trim().toLowerCase();
    const get = COLUMNS.find((c) => c.key === state.sort).get;
    const rows = state.studies.filter((s) => !query || s.name.toLowerCase().includes(query));
    rows.sort((a, b) => {
      const x = get(a);
      const y = get(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1; // missing values last either way
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * (state.desc ? -1 : 1);
    });
    count.textContent = `${rows.length} of ${state.studies.length}`;
    clear(body, rows.length ? rows.map(row) : h("tr", {}, h("td", { colspan: COLUMNS.length + 1, class: "muted", text: query ? "No study matches." : "No studies in this storage yet." })));
    const picked = [...state.picked];
    compare.setAttribute("href", pageUrl(`/compare${picked.length ? `?studies=${picked.map(encodeURIComponent).join(",")}` : ""}`));
    compare.classList.toggle("disabled", picked.length < 2);
  }

  function row(s) {
    const box = h("input", {
      type: "checkbox", "aria-label": `Pick ${s.name} to compare`, checked: state.picked.has(s.name),
      onchange: () => { if (box.checked) state.picked.add(s.name); else state.picked.delete(s.name); draw(); },
    });
    return h("tr", { dataset: { name: s.name } },
      h("td", { class: "pick" }, box),
      h("td", {}, link(studyPath(s.name), s.name)),
      h("td", { text: (s.directions || []).join(", ") }),
      h("td", {}, h("span", { class: "num" }, String(s.n_trials)), " ", countBadges(s.counts)),
      h("td", { class: "num", text: fmtNumber(s.best_value) }),
      h("td", { title: fmtTime(s.last_activity), text: fmtAgo(s.last_activity) }),
      h("td", { text: fmtTime(s.created_at) }));
  }

  draw();
  // The list is small: a poll keeps counts current without a stream per study.
  const timer = setInterval(async () => {
    try {
      state.studies = (await api("/studies")).studies;
      if (!stale()) draw();
    } catch {
      // The next poll tries again; a transient error is not worth a message.
    }
  }, 5000);
  onLeave(() => clearInterval(timer));
}
