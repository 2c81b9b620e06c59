// Releases across clusters: filters, counts per status, server-side paging (next_token).

import { h, append, clear, badge, when, table, field, select, errorBox } from "./dom.js";
import { get, qs } from "./api.js";

const STATUSES = ["deployed", "failed", "pending", "superseded", "uninstalling", "uninstalled", "unknown"];
const PAGE = 25;

function hashFor(q) {
  const s = new URLSearchParams(Object.entries(q).filter(([, v]) => v)).toString();
  return `#/releases${s ? "?" + s : ""}`;
}

export async function releasesPage(main, q) {
  const clusters = await get("/v1/clusters").catch(() => ({ clusters: [] }));
  const f = {
    cluster: select([["", "all clusters"], ...clusters.clusters.map((c) => [c.name, c.name])], q.cluster || "", { name: "cluster" }),
    namespace: h("input", { name: "namespace", value: q.namespace || "", placeholder: "any" }),
    status: select([["", "all but uninstalled"], ...STATUSES.map((s) => [s, s])], q.status || "", { name: "status" }),
    search: h("input", { name: "search", type: "search", value: q.search || "", placeholder: "part of the name" }),
  };
  const form = h(
    "form.filters",
    { role: "search", "aria-label": "Filter releases" },
    field("Cluster", f.cluster),
    field("Namespace", f.namespace),
    field("Status", f.status),
    field("Search", f.search),
    h("button", { type: "submit", text: "Filter" }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = hashFor({
      cluster: f.cluster.value,
      namespace: f.namespace.value.trim(),
      status: f.status.value,
      search: f.search.value.trim(),
    });
  });
  f.cluster.addEventListener("change", () => form.requestSubmit());
  f.status.addEventListener("change", () => form.requestSubmit());
  const counts = h("div.counts", { "aria-live": "polite" });
  const results = h("div");
  append(main, [h("h1", { text: "Releases" }), form, counts, results]);

  const base = q.cluster ? `/v1/clusters/${encodeURIComponent(q.cluster)}/releases` : "/v1/releases";
  const filters = { namespace: q.namespace, search: q.search };
  // counts per status over everything the filters (but status) match, up to 1,000 releases
  get(base + qs({ ...filters, status: STATUSES.join(","), limit: 1000 }))
    .then((all) => {
      const byStatus = {};
      all.releases.forEach((r) => {
        const key = r.status.startsWith("pending") ? "pending" : r.status;
        byStatus[key] = (byStatus[key] || 0) + 1;
      });
      clear(counts);
      append(counts, [
        h("span.muted", { text: `${all.releases.length}${all.next_token ? "+" : ""} releases: ` }),
        STATUSES.filter((s) => byStatus[s]).map((s) =>
          h("a.count", { href: hashFor({ ...q, status: s }) }, badge(s), ` ${byStatus[s]}`),
        ),
      ]);
    })
    .catch(() => {});

  const tokens = [null]; // next_token of each page shown so far
  async function show(page) {
    clear(results);
    let data;
    try {
      data = await get(base + qs({ ...filters, status: q.status, limit: PAGE, next_token: tokens[page] }));
    } catch (err) {
      append(results, [errorBox(err)]);
      return;
    }
    tokens[page + 1] = data.next_token;
    if (!data.releases.length) {
      append(results, [h("p.empty", { text: "No release matches. Install one from Charts." })]);
    } else {
      append(results, [
        table(
          [
            {
              label: "Name",
              cell: (r) => h("a", { href: `#/release/${[r.cluster, r.namespace, r.name].map(encodeURIComponent).join("/")}`, text: r.name }),
            },
            { label: "Status", cell: (r) => badge(r.status) },
            { label: "Cluster", cell: (r) => r.cluster },
            { label: "Namespace", cell: (r) => r.namespace },
            { label: "Chart", cell: (r) => `${r.chart} ${r.chart_version}` },
            { label: "Revision", cell: (r) => String(r.revision) },
            { label: "Updated", cell: (r) => when(r.last_deployed || r.updated_at) },
          ],
          data.releases,
          "Releases",
        ),
      ]);
    }
    const pager = h(
      "nav.pager",
      { "aria-label": "Pages" },
      h("button", { type: "button", disabled: page === 0, onclick: () => show(page - 1), text: "← Previous" }),
      h("span.muted", { text: `Page ${page + 1}` }),
      h("button", { type: "button", disabled: !data.next_token, onclick: () => show(page + 1), text: "Next →" }),
    );
    append(results, [pager]);
  }
  await show(0);
}
