// The public /v1 API, called with the signed-in caller's token. The token lives in sessionStorage (this tab
// only; gone when it closes): never in a URL, a cookie or a log.

const KEY = "charthouse.token";
export const BASE = document.documentElement.dataset.base || "";

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || `HTTP${status}`;
    this.details = e.details || {};
  }
}

export function token() {
  return sessionStorage.getItem(KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

/** A local stage's token (cht_...) is sent as a bearer token; a JWT (a Cognito ID token) as it is, which is
 * what API Gateway's Cognito authorizer reads. */
export function authorization(value) {
  const jwt = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value);
  return jwt ? value : `Bearer ${value}`;
}

let onUnauthenticated = () => {};
export function whenSignedOut(fn) {
  onUnauthenticated = fn;
}

export async function call(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  const t = token();
  if (t) headers.Authorization = authorization(t);
  const init = { method, headers, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (err) {
    throw new ApiError(0, { error: { code: "NetworkError", message: `the service did not answer (${err.message})` } });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.status === 401) onUnauthenticated();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => call("GET", path);

export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function releasePath(c, ns, name) {
  const e = encodeURIComponent;
  return `/v1/clusters/${e(c)}/namespaces/${e(ns)}/releases${name ? "/" + e(name) : ""}`;
}

/** Poll an operation until it ends; onChange(op) on every poll. Resolves with the finished operation. */
export async function watch(op, onChange, isCancelled = () => false) {
  let current = op;
  onChange(current);
  let delay = 400;
  while (!["succeeded", "failed"].includes(current.status)) {
    await new Promise((r) => setTimeout(r, delay));
    if (isCancelled()) return current;
    delay = Math.min(delay * 1.5, 2000);
    current = await get(`/v1/operations/${encodeURIComponent(current.id)}`);
    onChange(current);
  }
  return current;
}

/** Whether the caller's rules (from /v1/whoami) grant verb on cluster/namespace (the server decides anyway). */
export function allowed(me, verb, cluster, namespace) {
  if (!me) return false;
  if (me.admin) return true;
  const glob = (pattern, value) =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`).test(value);
  return (me.rules || []).some(
    (r) =>
      (r.verbs || []).some((v) => v === verb || v === "*") &&
      (r.clusters || ["*"]).some((p) => glob(p, cluster)) &&
      (r.namespaces || ["*"]).some((p) => glob(p, namespace)),
  );
}
