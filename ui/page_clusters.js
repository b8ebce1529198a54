// #/clusters: every cluster with its nodes by health, its panic flag and the
// instance that checks it; problems stand out, and "problems only" hides the
// rest.
import { fill, h, num, patchRows } from "./dom.js";
import {
  CLUSTER_STATE_KIND, CLUSTER_STATE_LABEL, checkLabel, clusterState, countNodes, isOnline,
  isProblem,
} from "./health.js";
import { ownerResolver } from "./ring.js";
import { countText, healthBar, onlineSwitch, tile } from "./widgets.js";

// Kept across visits to the page (not across reloads).
const view = { filter: "", problemsOnly: false };

export function clustersPage(ctx) {
  let tiles, tbody, shown, emptyRow, last = null, problems = 0, nodes = 0;

  function mount(root) {
    tiles = h("div.tiles");
    const filter = h("input.filter", {
      type: "search",
      placeholder: "Filter clusters (press /)",
      "aria-label": "Filter clusters by name",
      value: view.filter,
    });
    filter.addEventListener("input", () => {
      view.filter = filter.value;
      if (last) render(last);
    });
    const onlyProblems = h("input", { type: "checkbox", id: "only-problems" });
    onlyProblems.checked = view.problemsOnly;
    onlyProblems.addEventListener("change", () => {
      view.problemsOnly = onlyProblems.checked;
      if (last) render(last);
    });
    shown = h("span.muted");
    tbody = h("tbody");
    emptyRow = h("p.empty-note", { hidden: true });
    root.append(
      h("div.page-head", null, h("h1", null, "Clusters"), shown),
      tiles,
      h("div.toolbar", null, filter,
        h("label.check", { for: "only-problems" }, onlyProblems, " Problems only")),
      h("div.card.table-card", null,
        h("table.grid#clusters-table", null,
          h("thead", null, h("tr", null,
            h("th", null, "Cluster"),
            h("th", null, "Health"),
            h("th.w-bar", null, "Nodes"),
            h("th", null, "Panic"),
            h("th", null, "Check"),
            h("th", null, "Checked by"),
            h("th.num", null, "Version"),
            ctx.canWrite() ? h("th", null, "Switch") : null)),
          tbody),
        emptyRow));
  }

  async function load(signal) {
    const [clusters, status] = await Promise.all([
      ctx.api.clusters(signal),
      ctx.api.status(signal).catch(() => null), // owners are a nicety
    ]);
    return { clusters, status };
  }

  function render(data) {
    last = data;
    const ownerOf = ownerResolver(data.status);
    const self = data.status ? data.status.self : "";
    const total = { clusters: 0, up: 0, down: 0, unchecked: 0, offline: 0, panic: 0, degraded: 0,
      offlineClusters: 0 };
    const rows = [];
    const needle = view.filter.trim().toLowerCase();
    for (const c of data.clusters) {
      const counts = countNodes(c);
      const state = clusterState(c, counts);
      total.clusters++;
      for (const s of ["up", "down", "unchecked", "offline"]) total[s] += counts[s];
      if (state === "panic") total.panic++;
      if (state === "degraded") total.degraded++;
      if (state === "offline") total.offlineClusters++;
      if (needle && !c.name.toLowerCase().includes(needle)) continue;
      if (view.problemsOnly && !isProblem(state)) continue;
      const owner = ownerOf(c.name);
      const write = ctx.canWrite();
      rows.push({
        key: c.name,
        sig: JSON.stringify([counts, state, c.panic, owner, self, c.version, c.checkType,
          c.checkFile, write]),
        build: () => clusterRow(c, counts, state, owner, self, write),
      });
    }
    problems = total.panic + total.degraded;
    nodes = total.up + total.down + total.unchecked + total.offline;
    patchRows(tbody, rows);
    shown.textContent = rows.length === total.clusters
      ? `${num(total.clusters)} clusters`
      : `${num(rows.length)} of ${num(total.clusters)} clusters shown`;
    emptyRow.hidden = rows.length > 0;
    emptyRow.textContent = total.clusters === 0
      ? "No clusters registered yet. POST a cluster document to /c (see docs/api.md)."
      : "No cluster matches the filter.";

    fill(tiles,
      tile("clusters", total.clusters, "",
        total.offlineClusters ? `${total.offlineClusters} offline` : "all online"),
      tile("nodes up", total.up, total.up ? "good" : ""),
      tile("nodes down", total.down, total.down ? "bad" : ""),
      tile("unchecked", total.unchecked, total.unchecked ? "muted" : ""),
      tile("nodes offline", total.offline, ""),
      tile("clusters in panic", total.panic, total.panic ? "bad" : "",
        total.degraded ? `${total.degraded} degraded` : ""));
  }

  function clusterRow(c, counts, state, owner, self, write) {
    const href = `#/c/${encodeURIComponent(c.name)}`;
    return h(`tr.state-${state}`, { dataset: { cluster: c.name, health: state } },
      h("td.name", null, h("a", { href }, c.name),
        isOnline(c) ? null : h("span.tag", null, "offline")),
      h("td", null, h(`span.pill.pill-${CLUSTER_STATE_KIND[state]}`, null,
        CLUSTER_STATE_LABEL[state])),
      h("td.w-bar", null, healthBar(counts), countText(counts)),
      h("td", { dataset: { panic: String(!!c.panic) } },
        c.panic ? h("span.pill.pill-bad", { title: "Fewer than the panic share of online nodes are up: clients pick among all online nodes" }, "PANIC")
          : h("span.muted", null, "—")),
      h("td.muted", null, checkLabel(c)),
      h("td.mono", { dataset: { owner } }, owner || h("span.muted", null, "—"),
        owner && owner === self ? h("span.tag.tag-self", null, "this instance") : null),
      h("td.num.mono.muted", null, String(c.version)),
      write ? h("td", null, onlineSwitch(isOnline(c), `Cluster ${c.name}`, (online) =>
        ctx.write(`${c.name}: set ${online ? "online" : "offline"}`,
          () => ctx.api.setClusterOnline(c.name, online)))) : null);
  }

  return {
    id: "clusters",
    tab: "clusters",
    title: "clusters",
    titleSuffix: () => (problems ? ` (${problems} with problems)` : ""),
    // GET /c carries every node: past 5,000 of them, every 5 s is enough.
    pollMs: () => (nodes > 5000 ? 5000 : 1000),
    mount,
    load,
    render,
  };
}
