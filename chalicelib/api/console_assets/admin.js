// Clusters (reachable, server version: probed live) and the audit log (admins).

import { h, append, clear, badge, when, table, field, select, errorBox } from "./dom.js";
import { get, qs } from "./api.js";

export async function clustersPage(main) {
  const { clusters } = await get("/v1/clusters");
  const body = h("div");
  append(main, [h("h1", { text: "Clusters" }), body]);
  if (!clusters.length) return append(body, [h("p.empty", { text: "No cluster is registered (PUT /v1/clusters/{name})." })]);
  const probed = await Promise.all(
    clusters.map((c) => get(`/v1/clusters/${encodeURIComponent(c.name)}`).catch((err) => ({ ...c, reachable: false, unreachable_reason: err.message }))),
  );
  append(body, [
    table(
      [
        { label: "Name", cell: (c) => h("a", { href: `#/releases?cluster=${encodeURIComponent(c.name)}`, text: c.name }) },
        { label: "Reachable", cell: (c) => (c.reachable ? badge("ok") : [badge("error"), " ", c.unreachable_reason || "unreachable"]) },
        { label: "Version", cell: (c) => c.server_version || "" },
        { label: "Auth", cell: (c) => c.auth },
        { label: "Server", cell: (c) => c.server },
        { label: "Description", cell: (c) => c.description || "" },
      ],
      probed,
      "Clusters",
    ),
  ]);
}

export async function auditPage(main, q) {
  const f = {
    release: h("input", { name: "release", value: q.release || "" }),
    principal: h("input", { name: "principal", value: q.principal || "" }),
    result: select([["", "any"], "ok", "error", "denied"], q.result || "", { name: "result" }),
  };
  const form = h("form.filters", { role: "search", "aria-label": "Filter the audit log" }, field("Release", f.release), field("Principal", f.principal), field("Result", f.result), h("button", { type: "submit", text: "Filter" }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const s = new URLSearchParams(Object.entries({ release: f.release.value.trim(), principal: f.principal.value.trim(), result: f.result.value }).filter(([, v]) => v));
    location.hash = `#/audit${s.toString() ? "?" + s : ""}`;
  });
  const out = h("div");
  append(main, [h("h1", { text: "Audit" }), form, out]);
  const tokens = [null];
  async function show(page) {
    clear(out);
    try {
      const data = await get("/v1/audit" + qs({ release: q.release, principal: q.principal, result: q.result, limit: 50, next_token: tokens[page] }));
      tokens[page + 1] = data.next_token;
      append(out, [
        table(
          [
            { label: "When", cell: (e) => when(e.at) },
            { label: "Who", cell: (e) => e.principal },
            { label: "Request", cell: (e) => `${e.method} ${e.path}` },
            { label: "Status", cell: (e) => String(e.status) },
            { label: "Result", cell: (e) => badge(e.result) },
            { label: "Detail", cell: (e) => [e.error_code, e.operation_id].filter(Boolean).join(" ") },
          ],
          data.entries,
          "Audit entries, newest first",
        ),
        h(
          "nav.pager",
          { "aria-label": "Pages" },
          h("button", { type: "button", disabled: page === 0, onclick: () => show(page - 1), text: "← Previous" }),
          h("span.muted", { text: `Page ${page + 1}` }),
          h("button", { type: "button", disabled: !data.next_token, onclick: () => show(page + 1), text: "Next →" }),
        ),
      ]);
    } catch (err) {
      append(out, [errorBox(err)]);
    }
  }
  await show(0);
}
