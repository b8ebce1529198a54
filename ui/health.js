// How the dashboard reads health: one state per node and one per cluster,
// from the cluster documents of GET /c (jcm's full form). Pure functions.
//
// Node state:
//   offline    the admin switch is off (never picked, whatever its checks say)
//   up         online and NORMAL
//   down       online and ABNORMAL or TIMEOUT
//   unchecked  online and INVALID: not checked yet, or the cluster's checkType
//              is NONE
export const NODE_STATES = ["up", "down", "unchecked", "offline"];

export function nodeState(node) {
  if (node.online === "OFFLINE" || node.online === false) return "offline";
  switch (node.status) {
    case "NORMAL":
      return "up";
    case "ABNORMAL":
    case "TIMEOUT":
      return "down";
    default:
      return "unchecked";
  }
}

export const NODE_STATE_LABEL = {
  up: "Up",
  down: "Down",
  unchecked: "Unchecked",
  offline: "Offline",
};

export function isOnline(cluster) {
  return cluster.online !== "OFFLINE" && cluster.online !== false;
}

export function countNodes(cluster) {
  const counts = { up: 0, down: 0, unchecked: 0, offline: 0, total: 0 };
  for (const n of cluster.nodes || []) {
    counts[nodeState(n)]++;
    counts.total++;
  }
  return counts;
}

// Cluster state, worst first:
//   offline    the cluster's switch is off: subscribers drop it
//   panic      too few online nodes are NORMAL: clients pick among all
//   degraded   some online node is down
//   unchecked  no node checked yet (or checkType NONE)
//   healthy    every online node is up
//   empty      no node at all
export function clusterState(cluster, counts = countNodes(cluster)) {
  if (!isOnline(cluster)) return "offline";
  if (cluster.panic) return "panic";
  if (counts.down > 0) return "degraded";
  if (counts.total === 0) return "empty";
  if (counts.up === 0 && counts.unchecked > 0) return "unchecked";
  return "healthy";
}

export const CLUSTER_STATE_LABEL = {
  offline: "Offline",
  panic: "Panic",
  degraded: "Degraded",
  unchecked: "Unchecked",
  healthy: "Healthy",
  empty: "No nodes",
};

// Pill colour of a cluster state.
export const CLUSTER_STATE_KIND = {
  offline: "muted",
  panic: "bad",
  degraded: "warn",
  unchecked: "muted",
  healthy: "good",
  empty: "muted",
};

export function isProblem(state) {
  return state === "panic" || state === "degraded";
}

// "ip|HTTP:p|TCP:q", the server's canonical spec: HTTP before TCP.
export function nodeSpec(node) {
  const order = { HTTP: 0, TCP: 1 };
  const protos = [...(node.protos || [])].sort((a, b) => order[a.proto] - order[b.proto]);
  return [node.ip, ...protos.map((p) => `${p.proto}:${p.port}`)].join("|");
}

export function checkLabel(cluster) {
  if (cluster.checkType === "NONE") return "none";
  if (cluster.checkType === "TCP") return "TCP connect";
  return `HTTP ${cluster.checkFile || "/"}`;
}
