// The cluster page's "Recent transitions" section: the health transitions of
// the cluster's nodes as this instance's checker recorded them
// (GET /c/{name}/history), newest first. Only the instance that checks a
// cluster records them; any other answers with none ("checking": false), and
// the section then names the instance that does (the page can only ask its
// own origin).
import { fill, h, patchRows } from "./dom.js";

// "2026-12-01 04:51:37.123": UTC, with milliseconds (a node can go down and
// up again within a second).
export function utcTime(ms) {
  return ms ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : "—";
}

// One row per transition, newest first; equal times keep the server's order
// (per node oldest first), reversed.
export function transitionRows(history) {
  const rows = [];
  for (const [spec, list] of Object.entries((history && history.nodes) || {})) {
    for (const t of list || []) rows.push({ spec, ...t });
  }
  rows.reverse();
  return rows.sort((a, b) => (b.at || 0) - (a.at || 0));
}

const STATE_OF = { NORMAL: "up", ABNORMAL: "down", TIMEOUT: "down" };

export function transitionsSection() {
  const tbody = h("tbody");
  const table = h("table.grid#transitions-table", null,
    h("thead", null, h("tr", null,
      h("th", null, "Time (UTC)"),
      h("th", null, "Node"),
      h("th", null, "Change"),
      h("th", null, "Reason"))),
    tbody);
  const note = h("p.empty-note#transitions-empty", { hidden: true });
  const el = h("section#transitions", null,
    h("h2", null, "Recent transitions"),
    h("div.card.table-card", null, table, note));

  // `history`: the route's data, or {error} when it was refused; `owner`:
  // the instance that checks the cluster, by the ring (may be ""); `checked`:
  // false for checkType NONE (nobody checks it, so nobody records).
  function update(history, owner, checked) {
    if (!history || history.error) {
      table.hidden = true;
      note.hidden = false;
      fill(note, `history unavailable: ${history ? history.error : "no answer"}`);
      return;
    }
    const suspects = new Set(history.suspects || []);
    const rows = transitionRows(history);
    table.hidden = rows.length === 0;
    note.hidden = rows.length > 0;
    if (!rows.length) {
      const elsewhere = checked && !history.checking && owner && owner !== history.owner;
      fill(note, "no transitions recorded on this instance",
        checked ? null : " (check type none: its nodes are not checked)",
        elsewhere ? [" — ", h("span.mono", null, owner),
          " checks this cluster and keeps its history: ",
          h("a", { href: `${location.protocol}//${owner}/ui/#/c/${encodeURIComponent(history.cluster)}` },
            "open its dashboard")] : null);
    }
    // Keys stay put as new rows arrive on top, so old rows are not rebuilt.
    const seen = new Map();
    patchRows(tbody, rows.map((t) => {
      const suspect = suspects.has(t.spec);
      const base = `${t.at}|${t.spec}|${t.from}|${t.to}|${t.reason}`;
      const n = (seen.get(base) || 0) + 1;
      seen.set(base, n);
      return {
        key: `${base}|${n}`,
        sig: JSON.stringify([t, suspect]),
        build: () => h("tr", { dataset: { node: t.spec, from: t.from, to: t.to } },
          h("td.mono", { title: t.at ? new Date(t.at).toLocaleString() : "" }, utcTime(t.at)),
          h("td.mono.strong", null, t.spec, suspect ? h("span.status-detail", {
            title: "This instance's checks fail, but another instance reaches it: kept NORMAL",
          }, " suspect") : null),
          h("td", null,
            h(`span.status-${STATE_OF[t.from] || "unchecked"}`, null, t.from),
            " → ",
            h(`span.status-${STATE_OF[t.to] || "unchecked"}.strong`, null, t.to)),
          h("td", null, t.reason || h("span.muted", null, "—"))),
      };
    }));
  }

  return { el, update };
}
