// Small DOM and formatting helpers shared by the pages. Elements are built
// with h(), never from HTML strings, so a cluster name or a node's udata can
// never inject markup.

// h("td.num", {title: "x", dataset: {spec: s}}, "text", child, ...);
// h("table.grid#nodes", ...) sets an id too.
export function h(tag, attrs, ...children) {
  const [head, id] = tag.split("#");
  const [name, ...classes] = head.split(".");
  const el = document.createElement(name || "div");
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(" ");
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "class") el.className += (el.className ? " " : "") + v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Replaces the children of `el`; null, undefined and false are skipped
// (Element.append would write them as text).
export function fill(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// Replaces the rows of `tbody` with `rows` ({key, sig, build}), reusing the
// existing <tr> of a key whose signature did not change. A poll every second
// would otherwise rebuild every row, losing the user's text selection and
// hover.
export function patchRows(tbody, rows) {
  const old = new Map();
  for (const tr of Array.from(tbody.children)) old.set(tr.dataset.key, tr);
  let prev = null;
  for (const row of rows) {
    let tr = old.get(row.key);
    if (tr && tr.dataset.sig === row.sig) {
      old.delete(row.key);
    } else {
      if (tr) {
        old.delete(row.key);
        tr.remove();
      }
      tr = row.build();
      tr.dataset.key = row.key;
      tr.dataset.sig = row.sig;
    }
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  for (const tr of old.values()) tr.remove();
}

const nf = new Intl.NumberFormat("en-US");
export function num(n) {
  return typeof n === "number" ? nf.format(n) : n === undefined || n === null ? "—" : String(n);
}

// "4 s ago", "3 min ago", "2 h ago", "5 d ago"; "never" for 0.
export function ago(ms, now = Date.now()) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h ago`;
}

// An element whose text says how long ago `ms` was, kept current by
// tickTimes() (once a second) without re-rendering its row.
export function timeAgo(ms) {
  return h("time", {
    dataset: { ts: String(ms || 0) },
    datetime: ms ? new Date(ms).toISOString() : undefined,
    title: ms ? new Date(ms).toLocaleString() : "not checked yet",
    text: ago(ms),
  });
}

export function tickTimes(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll("time[data-ts]")) {
    const t = ago(Number(el.dataset.ts), now);
    if (el.textContent !== t) el.textContent = t;
  }
}

export function pill(text, kind, title) {
  return h(`span.pill.pill-${kind}`, { title }, text);
}
