// #/deployment: the jcm-server instances (leader, members, who checks how
// many clusters), this instance's ZooKeeper session, and its counters.
import { clear, fill, h, num, patchRows, timeAgo } from "./dom.js";
import { ringFor } from "./ring.js";
import { counterCard } from "./counters.js";
import { tile } from "./widgets.js";

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// Counter groups of /sys/status, with a word on each; keys not listed here
// are shown too, after these, so a new counter never stays hidden.
const GROUPS = [
  ["writes", "Writes (leader)", "Cluster writes this instance applied as leader"],
  ["health", "Health checker", "This instance's checker: its share of the clusters"],
  ["api", "HTTP API", "Requests this instance served"],
];
// Not counters: shown elsewhere on the page.
const HEALTH_SKIP = new Set(["ownerId", "checking", "ringMembers"]);

export function deploymentPage(ctx) {
  let tiles, tbody, counters, membersNote;

  function mount(root) {
    tiles = h("div.tiles");
    tbody = h("tbody");
    counters = h("div.counter-grid");
    membersNote = h("p.note");
    root.append(
      h("div.page-head", null, h("h1", null, "Deployment")),
      tiles,
      h("h2", null, "Members"),
      h("div.card.table-card", null,
        h("table.grid#members-table", null,
          h("thead", null, h("tr", null,
            h("th", null, "Instance"),
            h("th", null, "Role"),
            h("th.num", null, "Clusters checked"),
            h("th", null, "Registered"),
            h("th", null, "Member znode"))),
          tbody),
        membersNote),
      h("h2", null, "Counters of this instance"),
      counters);
  }

  async function load(signal) {
    const [status, names] = await Promise.all([
      ctx.api.status(signal),
      ctx.api.clusterNames(signal).catch(() => null),
    ]);
    return { status, names };
  }

  function render({ status: s, names }) {
    const zkOk = s.zookeeper === "CONNECTED";
    const members = s.members || [];
    fill(tiles,
      tile("leader", s.leader || "none", s.leader ? "" : "bad",
        s.isLeader ? "this instance" : s.leader ? "" : "no leader elected: writes refused"),
      tile("ZooKeeper", s.zookeeper || "?", zkOk ? "good" : "bad",
        [`session ${s.sessionId || "—"}`, `root ${s.root || "—"}`]),
      tile("members", members.length, members.length ? "" : "bad"),
      tile("clusters", s.clusters),
      tile("this instance", s.self, "", s.isLeader ? "leader" : "follower"));
    for (const t of tiles.children) t.classList.add("tile-text");

    // Clusters per checker: the same ring every instance computes.
    const health = s.health || {};
    const ring = ringFor(health.ringMembers || []);
    const share = new Map();
    if (names) for (const n of names) {
      const o = ring.ownerOf(n);
      share.set(o, (share.get(o) || 0) + 1);
    }
    const sorted = [...members].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    patchRows(tbody, sorted.map((m) => {
      const isLeader = m.address === s.leader;
      const isSelf = m.address === s.self;
      const checks = names ? share.get(m.address) || 0 : null;
      return {
        key: m.id || m.address,
        sig: JSON.stringify([m, isLeader, isSelf, checks]),
        build: () => h("tr", { dataset: { member: m.address } },
          h("td.mono.strong", null, m.address,
            isSelf ? h("span.tag.tag-self", null, "this instance") : null),
          h("td", null, isLeader ? h("span.pill.pill-good", null, "Leader")
            : h("span.pill.pill-muted", null, "Follower")),
          h("td.num", null, checks === null ? "—" : num(checks)),
          h("td", null, timeAgo(m.started)),
          h("td.mono.muted", null, m.id || "—")),
      };
    }));
    membersNote.textContent = health.ringMembers
      ? `Clusters are split between ${health.ringMembers.length} checkers by a consistent-hash ring; ` +
        `this instance checks ${(health.checking || []).length}.`
      : "This instance runs no health checker.";

    clear(counters);
    const groups = [...GROUPS];
    for (const [k, v] of Object.entries(s)) {
      if (isObject(v) && !GROUPS.some((g) => g[0] === k)) {
        groups.push([k, k, ""]);
      }
    }
    for (const [key, title, about] of groups) {
      const obj = s[key];
      if (!isObject(obj)) continue;
      counters.append(counterCard(key, title, about, obj, key === "health" ? HEALTH_SKIP : null));
    }
  }

  return { id: "deployment", tab: "deployment", title: "deployment", mount, load, render };
}
