// Turns the brushes on a parcoords trace into the trials endpoint's range= and choice= filters.
import { unplotText } from "./core.js";

/**
 * ``trace``: the parcoords trace as drawn (its dimensions carry ``constraintrange`` once brushed);
 * ``params``: the study's parameter descriptions (name, log, choices). The first axis, the
 * objective, is not a parameter and filters nothing. Returns ``{ranges, choices}`` keyed by name.
 */
export function brushFilters(trace, params) {
  const byName = new Map(params.map((p) => [p.name, p]));
  const ranges = {};
  const choices = {};
  for (const dim of (trace && trace.dimensions) || []) {
    const span = hull(dim.constraintrange);
    if (span === null) continue;
    const label = String(dim.label ?? "");
    const param = byName.get(label) || byName.get(unplotText(label));
    if (!param) continue;
    if (dim.ticktext && dim.tickvals && isCategorical(param)) {
      // A categorical axis places choice i at tickval i: the brush keeps the ticks inside it,
      // named as the server names a choice (Python's str of the value).
      const choicesOf = Array.isArray(param.choices) ? param.choices : [];
      const picked = dim.tickvals
        .map((v, i) => [v, i < choicesOf.length ? choiceLabel(choicesOf[i]) : unplotText(dim.ticktext[i])])
        .filter(([v]) => v >= span[0] && v <= span[1])
        .map(([, text]) => text);
      choices[param.name] = picked;
    } else if (param.log) {
      // Log-scaled parameters are drawn as log10 of their values.
      ranges[param.name] = [10 ** span[0], 10 ** span[1]];
    } else {
      ranges[param.name] = span;
    }
  }
  return { ranges, choices };
}

/** A choice as the ``choice=`` filter names it: Python's ``str`` (True, None, 3 for 3.0). */
export function choiceLabel(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return JSON.stringify(value);
}

function isCategorical(param) {
  return param.kind === "categorical" || Array.isArray(param.choices);
}

/** ``[lo, hi]`` over one range or several (``[[a, b], [c, d]]``); null when not brushed. */
function hull(range) {
  if (!Array.isArray(range) || range.length === 0) return null;
  const pairs = Array.isArray(range[0]) ? range : [range];
  const flat = pairs.flat().filter((v) => typeof v === "number" && Number.isFinite(v));
  if (flat.length < 2) return null;
  return [Math.min(...flat), Math.max(...flat)];
}
