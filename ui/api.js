// The dashboard's only door to jcm-server: the JSON API of the instance that
// served the page (same origin), with a timeout on every call. Reads carry
// no credentials; writes carry the token the operator entered, as
// `Authorization: Bearer <token>`.

const TOKEN_KEY = "jcm.writeToken";
const TIMEOUT_MS = 5000;

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status; // HTTP status; 0 when there was no answer
  }
}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return ""; // storage disabled: read-only
  }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token cannot be kept
  }
}

// Sends one request and unwraps the {code, msg, data} envelope. `signal`
// aborts it (page change). Throws ApiError naming the route and the
// server's message.
async function call(method, path, { body, signal, auth } = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  const onAbort = () => ctl.abort();
  if (signal) signal.addEventListener("abort", onAbort);
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && token()) headers.Authorization = `Bearer ${token()}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctl.signal,
      cache: "no-store",
    });
  } catch (e) {
    if (signal && signal.aborted) throw e;
    const why = ctl.signal.aborted ? `no answer within ${TIMEOUT_MS / 1000} s` : "unreachable";
    throw new ApiError(`${method} ${path}: ${why}`, 0);
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", onAbort);
  }
  let doc = null;
  try {
    doc = await res.json();
  } catch {
    throw new ApiError(`${method} ${path}: HTTP ${res.status}, not JSON`, res.status);
  }
  if (!res.ok || !doc || doc.code !== 0) {
    const msg = doc && doc.msg ? doc.msg : `HTTP ${res.status}`;
    throw new ApiError(msg, res.status);
  }
  return doc.data;
}

export const api = {
  clusters: (signal) => call("GET", "/c", { signal }),
  clusterNames: (signal) => call("GET", "/c/list", { signal }),
  cluster: (name, signal) => call("GET", `/c/${encodeURIComponent(name)}`, { signal }),
  history: (name, signal) => call("GET", `/c/${encodeURIComponent(name)}/history`, { signal }),
  status: (signal) => call("GET", "/sys/status", { signal }),
  setClusterOnline: (name, online) =>
    call("POST", `/c/online/${encodeURIComponent(name)}`, { body: online, auth: true }),
  setNodeOnline: (name, spec, online) =>
    call("POST", `/c/node/online/${encodeURIComponent(name)}`, {
      body: { spec, online },
      auth: true,
    }),
};
