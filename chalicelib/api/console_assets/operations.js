// Operations: the running and queued ones, and the recent ones; refreshed every few seconds while shown.

import { h, append, clear, badge, when, table, errorBox } from "./dom.js";
import { get, qs } from "./api.js";

const EVERY_MS = 3000;

function releaseLink(op) {
  const r = op.release;
  if (!r || r.name === "*" || r.namespace === "*") return `${r.cluster}/${r.namespace}/${r.name}`;
  return h("a", { href: `#/release/${[r.cluster, r.namespace, r.name].map(encodeURIComponent).join("/")}`, text: `${r.cluster}/${r.namespace}/${r.name}` });
}

function progressCell(o) {
  const p = o.status === "running" ? o.progress : null;
  if (!p) return "";
  const first = (p.not_ready || [])[0];
  return `${p.phase}, ${p.ready}/${p.total} ready` + (first ? ` · ${first.kind} ${first.name}: ${first.message}` : "");
}

function errorCell(o) {
  if (!o.error) return "";
  const diag = o.error.details && o.error.details.diagnosis;
  // the diagnosis' one line says why; helm's message is on the operation's page
  return diag ? `${o.error.code}: ${diag.summary}` : `${o.error.code}: ${o.error.message}`;
}

const COLUMNS = [
  { label: "Operation", cell: (o) => h("a", { href: `#/operation/${encodeURIComponent(o.id)}`, text: o.id }) },
  { label: "Action", cell: (o) => o.action },
  { label: "Status", cell: (o) => badge(o.status) },
  { label: "Release", cell: releaseLink },
  { label: "Created", cell: (o) => when(o.created_at) },
  { label: "Finished", cell: (o) => when(o.finished_at) },
  { label: "Progress", cell: progressCell },
  { label: "Error", cell: errorCell },
];

export async function operationsPage(main) {
  const live = h("div", { "aria-live": "polite" });
  const recent = h("div");
  const stamp = h("p.muted");
  append(main, [h("h1", { text: "Operations" }), stamp, h("h2", { text: "Running and queued" }), live, h("h2", { text: "Recent" }), recent]);
  let timer = null;
  let stopped = false;
  async function refresh() {
    try {
      const data = await get("/v1/operations" + qs({ limit: 50 }));
      const active = data.operations.filter((o) => o.status === "queued" || o.status === "running");
      clear(live);
      append(live, [active.length ? table(COLUMNS, active) : h("p.empty", { text: "Nothing is running." })]);
      clear(recent);
      append(recent, [table(COLUMNS, data.operations.filter((o) => !active.includes(o)))]);
      stamp.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${EVERY_MS / 1000} s`;
    } catch (err) {
      clear(live);
      append(live, [errorBox(err)]);
    }
    if (!stopped) timer = setTimeout(refresh, EVERY_MS);
  }
  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
