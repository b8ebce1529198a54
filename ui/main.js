// The dashboard's shell: hash routes (#/clusters, #/c/<name>, #/deployment),
// the poll loop that keeps the shown page live, the connection indicator,
// the write token and the toasts that report writes.
//
// Live: the page's data is fetched again one second after the previous
// fetch finished (five seconds while the tab is hidden, or when the clusters
// page holds more than 5,000 nodes), so a node that goes down turns red
// within a second of the server knowing it. Rows whose data did not change
// are left alone (dom.js patchRows).
import { ApiError, api, setToken, token } from "./api.js";
import { clear, fill, h, tickTimes } from "./dom.js";
import { clustersPage } from "./page_clusters.js";
import { clusterPage } from "./page_cluster.js";
import { deploymentPage } from "./page_deployment.js";

const POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000;

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------ writes

function canWrite() {
  return token() !== "";
}

function toast(text, kind = "info") {
  const el = h(`div.toast.toast-${kind}`, { role: kind === "bad" ? "alert" : "status" }, text);
  $("toasts").append(el);
  setTimeout(() => el.remove(), kind === "bad" ? 9000 : 4000);
}

// Runs a write the operator confirmed; reports it and refreshes the page.
async function write(what, run) {
  try {
    const ack = await run();
    const v = ack && ack.version ? ` (version ${ack.version})` : "";
    toast(`${what}: done${v}`, "good");
  } catch (e) {
    const code = e.status ? `HTTP ${e.status}: ` : "";
    const hint = e.status === 401 || e.status === 403 ? " — check the write token" : "";
    toast(`${what} failed: ${code}${e.message}${hint}`, "bad");
  }
  refreshNow();
}

const ctx = { canWrite, write, api };

// ------------------------------------------------------------ routing

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  if (hash === "" || hash === "clusters") return clustersPage(ctx);
  if (hash === "deployment") return deploymentPage(ctx);
  const m = /^c\/(.+)$/.exec(hash);
  if (m) {
    let name = m[1];
    try {
      name = decodeURIComponent(name);
    } catch {
      // keep it as typed; the server will answer 400 naming it
    }
    return clusterPage(ctx, name);
  }
  return notFoundPage(hash);
}

function notFoundPage(hash) {
  return {
    id: "notfound",
    tab: "",
    title: "not found",
    mount(root) {
      root.append(
        h("section.empty-state", null,
          h("h1", null, "No such page"),
          h("p", null, `“#/${hash}” is not a dashboard page. Go to `,
            h("a", { href: "#/clusters" }, "clusters"), " or ",
            h("a", { href: "#/deployment" }, "the deployment"), ".")));
    },
    load: async () => null,
    render() {},
  };
}

// ------------------------------------------------------------ poll loop

let page = null;
let generation = 0;
let controller = null;
let timer = null;
let lastOk = 0;

// ok: the last poll was answered. Otherwise `error` (an ApiError) says why:
// no answer at all (status 0), or a refusal such as 503.
function setConn(ok, error) {
  const conn = $("conn");
  const banner = $("banner");
  if (ok) {
    lastOk = Date.now();
    conn.className = "conn conn-ok";
    $("conn-text").textContent = `live · ${location.host}`;
    conn.title = `Connected to ${location.host}; refreshed every second`;
    banner.hidden = true;
    document.body.classList.remove("stale");
  } else {
    const message = (error.message || String(error)).replace(/\.?$/, ".");
    const answered = error.status > 0;
    conn.className = "conn conn-bad";
    $("conn-text").textContent = answered ? `HTTP ${error.status}` : "unreachable";
    conn.title = message;
    const since = lastOk ? ` Showing data from ${new Date(lastOk).toLocaleTimeString()}.` : "";
    fill(banner,
      h("strong", null, answered ? `${location.host} answered HTTP ${error.status}: `
        : `Cannot reach ${location.host}: `),
      message, since, " Retrying every second.");
    banner.hidden = false;
    if (lastOk) document.body.classList.add("stale");
  }
}

async function cycle(gen) {
  controller = new AbortController();
  try {
    let data;
    try {
      data = await page.load(controller.signal);
    } catch (e) {
      if (gen !== generation || controller.signal.aborted) return;
      if (!(e instanceof ApiError)) throw e; // a bug, not the network: let errors.js show it
      if (e.status > 0 && page.renderError) {
        // The server answered (404 unknown cluster, 503 ...): the page says so.
        page.renderError(e);
        setConn(true);
        document.body.dataset.ready = page.id;
      } else {
        setConn(false, e);
      }
      return;
    }
    if (gen !== generation) return;
    // Outside the catch above: an exception here is a bug and is reported as
    // one (errors.js), not mistaken for a lost connection.
    page.render(data);
    setConn(true);
    document.body.dataset.ready = page.id;
    updateTitle();
  } finally {
    if (gen === generation) {
      // A page may ask for a slower pace (a very large GET /c).
      const pace = Math.max(POLL_MS, page.pollMs ? page.pollMs() : 0);
      clearTimeout(timer);
      timer = setTimeout(() => cycle(gen), document.hidden ? Math.max(pace, HIDDEN_POLL_MS) : pace);
    }
  }
}

function refreshNow() {
  clearTimeout(timer);
  if (controller) controller.abort();
  generation++;
  cycle(generation);
}

function updateTitle() {
  const extra = page.titleSuffix ? page.titleSuffix() : "";
  document.title = `jcm · ${page.title}${extra}`;
}

function show() {
  clearTimeout(timer);
  if (controller) controller.abort();
  generation++;
  page = route();
  delete document.body.dataset.ready;
  for (const a of document.querySelectorAll("[data-tab]")) {
    a.classList.toggle("active", a.dataset.tab === page.tab);
  }
  const root = clear($("page"));
  page.mount(root);
  updateTitle();
  cycle(generation);
}

// ------------------------------------------------------------ token

function renderToken() {
  const b = $("token-button");
  if (canWrite()) {
    b.textContent = "Writes enabled";
    b.className = "btn btn-warn";
    b.title = "A write token is set for this tab: online/offline switches are shown";
  } else {
    b.textContent = "Read-only";
    b.className = "btn btn-ghost";
    b.title = "Enter a write token to switch clusters and nodes online or offline";
  }
}

function setupToken() {
  const form = $("token-form");
  const button = $("token-button");
  const open = (yes) => {
    form.hidden = !yes;
    button.setAttribute("aria-expanded", String(yes));
    if (yes) $("token-input").focus();
  };
  button.addEventListener("click", () => open(form.hidden));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("token-input").value.trim();
    $("token-input").value = "";
    if (!value) return;
    setToken(value);
    open(false);
    renderToken();
    show();
    toast("Writes enabled for this tab", "info");
  });
  $("token-clear").addEventListener("click", () => {
    setToken("");
    $("token-input").value = "";
    open(false);
    renderToken();
    show();
    toast("Token forgotten: read-only", "info");
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !form.hidden) open(false);
  });
  document.addEventListener("click", (ev) => {
    if (!form.hidden && !form.contains(ev.target) && ev.target !== button) open(false);
  });
  renderToken();
}

// ------------------------------------------------------------ start

setupToken();
window.addEventListener("hashchange", show);
// "/" jumps to the page's filter box, as in most consoles.
document.addEventListener("keydown", (ev) => {
  const filter = document.querySelector("input.filter");
  if (ev.key === "/" && filter && document.activeElement.tagName !== "INPUT") {
    ev.preventDefault();
    filter.focus();
  }
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refreshNow();
});
setInterval(() => tickTimes(), 1000);
show();
