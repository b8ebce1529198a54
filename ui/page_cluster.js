// #/c/<name>: one cluster, every node with its status, last check, weight
// and online switch, and the cluster's check settings.
import { fill, h, num, patchRows, timeAgo } from "./dom.js";
import {
  CLUSTER_STATE_KIND, CLUSTER_STATE_LABEL, NODE_STATE_LABEL, checkLabel, clusterState,
  countNodes, isOnline, nodeSpec, nodeState,
} from "./health.js";
import { ownerResolver } from "./ring.js";
import { transitionsSection } from "./transitions.js";
import { countText, healthBar, onlineSwitch, onlineWord } from "./widgets.js";

export function clusterPage(ctx, name) {
  let head, facts, tbody, body, missing, transitions, bad = 0, absent = false;

  function mount(root) {
    head = h("div.page-head");
    facts = h("dl.facts");
    tbody = h("tbody");
    missing = h("section.empty-state", { hidden: true });
    transitions = transitionsSection();
    body = h("div", null,
      facts,
      h("div.card.table-card", null,
        h("table.grid#nodes-table", null,
          h("thead", null, h("tr", null,
            h("th", null, "Status"),
            h("th", null, "Node"),
            h("th", null, "Ports"),
            h("th.num", null, "Weight"),
            h("th", null, "Online"),
            h("th", {
              title: "When the checker last reported this node. Reports are written when a " +
                "status changes, so a steady node shows the check of its last change.",
            }, "Last check"),
            h("th", null, "udata"))),
          tbody)),
      transitions.el);
    root.append(
      h("nav.crumbs", null, h("a", { href: "#/clusters" }, "Clusters"), h("span", null, " / "),
        h("span", null, name)),
      head, missing, body);
  }

  async function load(signal) {
    const [cluster, status, history] = await Promise.all([
      ctx.api.cluster(name, signal),
      ctx.api.status(signal).catch(() => null),
      // A refused history (no health checker here) must not hide the page.
      ctx.api.history(name, signal).catch((e) => ({ error: e.message })),
    ]);
    return { cluster, status, history };
  }

  function render({ cluster: c, status, history }) {
    absent = false;
    missing.hidden = true;
    body.hidden = false;
    const counts = countNodes(c);
    const state = clusterState(c, counts);
    bad = counts.down;
    const owner = ownerResolver(status)(c.name);
    const self = status ? status.self : "";
    const write = ctx.canWrite();
    // Nodes this instance's checker fails to reach while another instance
    // reaches them (second opinion): NORMAL, but worth a look. Only the
    // instance that checks the cluster knows.
    const prefix = `${c.name}/`;
    const suspects = new Set(((status && status.health && status.health.suspects) || [])
      .filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length)));

    fill(head,
      h("h1", null, c.name),
      h(`span.pill.pill-${CLUSTER_STATE_KIND[state]}.pill-lg`, { dataset: { health: state } },
        CLUSTER_STATE_LABEL[state]),
      c.panic ? h("span.pill.pill-bad.pill-lg", {
        title: "Fewer than the panic share of online nodes are up: clients pick among all online nodes",
      }, "PANIC") : null,
      h("div.spacer"),
      write ? onlineSwitch(isOnline(c), `Cluster ${c.name}`, (online) =>
        ctx.write(`${c.name}: set ${online ? "online" : "offline"}`,
          () => ctx.api.setClusterOnline(c.name, online)))
        : h("span.muted", null, "cluster ", onlineWord(isOnline(c))));

    const settings = [];
    if (c.intervalMs) settings.push(`every ${c.intervalMs} ms`);
    if (c.timeoutMs) settings.push(`timeout ${c.timeoutMs} ms`);
    if (c.rise) settings.push(`rise ${c.rise}`);
    if (c.fall) settings.push(`fall ${c.fall}`);
    if (c.okCodes && c.okCodes.length) settings.push(`ok ${c.okCodes.join(",")}`);
    fill(facts,
      fact("Nodes", h("div.nodes-fact", null, healthBar(counts), countText(counts))),
      fact("Health check", checkLabel(c),
        settings.length ? settings.join(" · ") : "server defaults"),
      fact("Checked by", owner || "—", owner && owner === self ? "this instance" : ""),
      fact("Version", h("span.mono", null, String(c.version)),
        h("span.mono", null, `status ${c.statusVersion ?? "—"}`)));

    transitions.update(history, owner, c.checkType !== "NONE");

    patchRows(tbody, (c.nodes || []).map((n) => {
      const spec = nodeSpec(n);
      return {
        key: spec,
        sig: JSON.stringify([n, write, suspects.has(spec)]),
        build: () => nodeRow(c, n, spec, write, suspects.has(spec)),
      };
    }));
  }

  function fact(label, value, sub) {
    return h("div.fact", null, h("dt", null, label), h("dd", null, value,
      sub ? h("div.fact-sub", null, sub) : null));
  }

  function nodeRow(c, n, spec, write, suspect) {
    const state = nodeState(n);
    const online = n.online !== "OFFLINE" && n.online !== false;
    const raw = n.status || "INVALID";
    // notChecked: the server's check-target policy refuses to probe it.
    const detail = n.notChecked ? `not checked: ${n.notChecked}`
      : state === "down" || (state === "offline" && raw !== "INVALID")
        ? raw : state === "unchecked" && c.checkType === "NONE" ? "no check" : "";
    return h(`tr.node-${state}`, { dataset: { spec, status: raw, state } },
      h("td", null, h(`span.status.status-${state}`, null, h("span.dot"),
        NODE_STATE_LABEL[state], detail ? h("span.status-detail", null, detail) : null,
        suspect ? h("span.status-detail", {
          title: "This instance's checks fail, but another instance reaches it: kept NORMAL",
        }, "suspect") : null)),
      h("td.mono.strong", null, n.ip),
      h("td.mono", null, (n.protos || []).map((p) => h("span.port", null, `${p.proto}:${p.port}`))),
      h("td.num", null, num(n.weight ?? 100)),
      h("td", null, write ? onlineSwitch(online, `Node ${spec}`, (on) =>
        ctx.write(`${spec}: set ${on ? "online" : "offline"}`,
          () => ctx.api.setNodeOnline(c.name, spec, on))) : onlineWord(online)),
      h("td", null, timeAgo(n.lastCheck)),
      h("td.udata", { title: n.udata || "" }, n.udata || h("span.muted", null, "—")));
  }

  function renderError(e) {
    absent = true;
    body.hidden = true;
    fill(head, h("h1", null, name));
    missing.hidden = false;
    fill(missing,
      h("h2", null, e.status === 404 ? "No such cluster" : `The server refused: HTTP ${e.status}`),
      h("p", null, e.message),
      h("p", null, h("a", { href: "#/clusters" }, "Back to all clusters")));
  }

  return {
    id: "cluster",
    tab: "clusters",
    title: name,
    titleSuffix: () => (bad ? ` (${bad} down)` : ""),
    // A refused read (unknown cluster) is asked again at a slower pace: it
    // may be created, but each refusal is also a line in the browser console.
    pollMs: () => (absent ? 5000 : 1000),
    mount,
    load,
    render,
    renderError,
  };
}
