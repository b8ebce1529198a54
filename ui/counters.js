// Renders a counters object of /sys/status as something readable: plain
// values as a two-column list; an object whose members share the same keys
// (per-route replies: {"getCluster": {"2xx": 5, "4xx": 0}, ...}) as a small
// table; an "errors" object by its non-zero entries only; any other nested
// object as a titled sub-list. Unknown keys are always shown, so a counter
// added to the server never stays hidden.
import { h, num } from "./dom.js";

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function show(v) {
  if (typeof v === "number") return num(v);
  if (Array.isArray(v)) return `${v.length} items`;
  return String(v);
}

// {"a": {"x": 1, "y": 2}, "b": {"x": 3, "y": 4}} -> ["x", "y"]; null when
// the members are not objects of scalars with one key set.
function matrixColumns(obj) {
  const rows = Object.values(obj);
  if (rows.length < 2 || !rows.every(isObject)) return null;
  const cols = Object.keys(rows[0]);
  const same = rows.every((r) => {
    const k = Object.keys(r);
    return k.length === cols.length && k.every((c, i) => c === cols[i] && !isObject(r[c]));
  });
  return same && cols.length ? cols : null;
}

function pairs(entries) {
  return h("table.kv", null, h("tbody", null, entries.map(([k, v]) =>
    h("tr", null, h("th", { scope: "row" }, k), h("td.num.mono", null, show(v))))));
}

function section(key, value) {
  const cols = matrixColumns(value);
  if (cols) {
    return h("div.sub", { dataset: { counters: key } }, h("h4", null, key),
      h("table.matrix", null,
        h("thead", null, h("tr", null, h("th", null, ""), cols.map((c) => h("th.num", null, c)))),
        h("tbody", null, Object.entries(value).map(([row, r]) =>
          h("tr", null, h("th", { scope: "row" }, row),
            cols.map((c) => h(`td.num.mono${r[c] && /5xx|fail|error/i.test(c) ? ".hot" : ""}`,
              null, show(r[c]))))))));
  }
  if (key === "errors") {
    const hot = Object.entries(value).filter(([, v]) => v);
    return h("div.sub", { dataset: { counters: key } }, h("h4", null, key),
      hot.length ? pairs(hot) : h("p.note", null, "none"));
  }
  return h("div.sub", { dataset: { counters: key } }, h("h4", null, key), body(value));
}

function body(obj) {
  const flat = [];
  const nested = [];
  for (const [k, v] of Object.entries(obj)) (isObject(v) ? nested : flat).push([k, v]);
  return [flat.length ? pairs(flat) : null, nested.map(([k, v]) => section(k, v))];
}

// A card for one group of counters; keys in `skip` are left out.
export function counterCard(key, title, about, obj, skip) {
  const shown = Object.fromEntries(Object.entries(obj).filter(([k]) => !(skip && skip.has(k))));
  return h("section.card.counters", { dataset: { group: key } },
    h("h3", null, title), about ? h("p.note", null, about) : null, body(shown));
}
