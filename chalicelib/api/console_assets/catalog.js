// Repositories and charts: search, show (Chart.yaml, values, README) and the install form. A chart's
// values.schema.json, when it has one, gives the form its fields and their rules (schema.js).

import { h, append, clear, badge, when, table, field, select, pre, errorBox, section } from "./dom.js";
import { get, call, qs, releasePath } from "./api.js";
import { schemaFields, readFields } from "./schema.js";
import { followOperation } from "./operation.js";

export async function chartsPage(main, q) {
  const search = h("input", { name: "q", type: "search", value: q.q || "", placeholder: "chart name or keyword" });
  const form = h("form.filters", { role: "search", "aria-label": "Search charts" }, field("Chart name or keyword", search), h("button", { type: "submit", text: "Search" }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = `#/charts${search.value.trim() ? "?q=" + encodeURIComponent(search.value.trim()) : ""}`;
  });
  const results = h("div");
  const repos = h("div");
  append(main, [
    h("h1", { text: "Charts" }),
    form,
    h("p", {}, "Not in a repository? ", h("a", { href: "#/install", text: "Install a chart by reference" }), " (an oci:// reference or a URL of a chart archive)."),
    results,
    h("h2", { text: "Repositories" }),
    repos,
  ]);
  get("/v1/charts" + qs({ q: q.q, limit: 100 }))
    .then((data) => {
      append(results, [
        data.charts.length
          ? table(
              [
                { label: "Chart", cell: (c) => h("a", { href: `#/chart/${encodeURIComponent(c.repository)}/${encodeURIComponent(c.name)}`, text: c.ref }) },
                { label: "Version", cell: (c) => c.version },
                { label: "App version", cell: (c) => c.app_version || "" },
                { label: "Description", cell: (c) => c.description || "" },
              ],
              data.charts,
              "Charts (newest version of each)",
            )
          : h("p.empty", { text: "No chart matches." }),
      ]);
    })
    .catch((err) => append(results, [errorBox(err)]));
  get("/v1/repositories")
    .then((data) =>
      append(repos, [
        table(
          [
            { label: "Name", cell: (r) => r.name },
            { label: "Type", cell: (r) => r.type },
            { label: "URL", cell: (r) => r.url || "" },
            { label: "Charts", cell: (r) => (r.index ? `${r.index.charts} charts, ${r.index.versions} versions` : "") },
            { label: "Refreshed", cell: (r) => (r.index ? when(r.index.refreshed_at) : "") },
            { label: "Credentials", cell: (r) => Object.entries(r.auth || {}).filter(([, v]) => v).map(([k]) => k).join(", ") || "none" },
          ],
          data.repositories,
        ),
      ]),
    )
    .catch((err) => append(repos, [errorBox(err)]));
}

export async function installPage(main, q) {
  const form = await installForm({ chartRef: q.chart || "", version: q.version || "", editable: true });
  append(main, [
    h("p", {}, h("a", { href: "#/charts", text: "← Charts" })),
    h("h1", { text: "Install a chart by reference" }),
    form,
  ]);
}

export async function chartPage(main, [repository, chart], q) {
  const e = encodeURIComponent;
  const versionsData = await get("/v1/charts" + qs({ repository, q: chart, versions: "true", limit: 100 })).catch(() => ({ charts: [] }));
  const versions = versionsData.charts.filter((c) => c.name === chart).map((c) => c.version);
  const version = q.version || versions[0] || "";
  const shown = await get(`/v1/charts/${e(repository)}/${e(chart)}` + qs({ version, info: "chart,values,readme,schema" }));
  let schema = null;
  let schemaProblem = null;
  if (shown.schema) {
    try {
      schema = JSON.parse(shown.schema);
    } catch (err) {
      schemaProblem = `values.schema.json is not JSON (${err.message}); helm will refuse the chart`;
    }
  }
  const meta = shown.chart || {};
  const pick = select(versions.length ? versions : [shown.version], shown.version, { name: "version" });
  pick.addEventListener("change", () => (location.hash = `#/chart/${e(repository)}/${e(chart)}?version=${e(pick.value)}`));
  append(main, [
    h("p", {}, h("a", { href: "#/charts", text: "← Charts" })),
    h("h1", { text: `${repository}/${chart}` }),
    h("p", { text: meta.description || "" }),
    h("div.filters", {}, field("Version", pick), h("p.muted", { text: `app ${meta.appVersion || "—"} · digest ${shown.digest.slice(0, 19)}` })),
  ]);

  const form = await installForm({ chartRef: `${repository}/${chart}`, version: shown.version, schema, schemaProblem });
  append(main, [
    form,
    section("Default values (values.yaml)", shown.values ? pre(shown.values, "code") : h("p.muted", { text: "none" })),
    shown.readme ? section("README", pre(shown.readme, "readme")) : null,
  ]);
}

/** The install form: cluster, namespace, name, the schema's fields (when the chart has a values.schema.json), more
 * values as YAML; a dry run, then the install followed live. With editable, the chart reference is typed. */
async function installForm({ chartRef = "", version = "", schema = null, schemaProblem = null, editable = false }) {
  const e = encodeURIComponent;
  const chartInput = h("input", { name: "chart", value: chartRef, required: true, spellcheck: "false" });
  const versionInput = h("input", { name: "chart-version", value: version, spellcheck: "false" });
  const clusters = await get("/v1/clusters").catch(() => ({ clusters: [] }));
  const cluster = select(clusters.clusters.map((c) => c.name), clusters.clusters[0] && clusters.clusters[0].name, { name: "cluster" });
  const namespace = h("input", { name: "namespace", value: "default", required: true, pattern: "[a-z0-9]([a-z0-9\\-]*[a-z0-9])?" });
  const name = h("input", { name: "name", required: true, pattern: "[a-z0-9]([a-z0-9\\-]*[a-z0-9])?", maxlength: "53", autocomplete: "off" });
  const createNs = h("input", { type: "checkbox", name: "create_namespace" });
  const defaults = {};
  const fields = schemaFields(schema, defaults);
  const values = h("textarea.code", { name: "values", rows: "8", spellcheck: "false", placeholder: "key: value" });
  const problems = h("div", { "aria-live": "polite" });
  const opArea = h("div.op-area");
  const dryRun = h("button", { type: "button", text: "Check (dry run)" });
  const form = h(
    "form.card",
    { "aria-labelledby": "install-title", novalidate: true },
    h("h2", { id: "install-title", text: "Install" }),
    editable ? h("div.row", {}, field("Chart", chartInput, "repository/chart, oci://host/path/chart or an http(s) URL of a .tgz"), field("Version", versionInput, "exact, a constraint, or empty for the newest")) : null,
    h("div.row", {}, field("Cluster", cluster), field("Namespace", namespace), field("Release name", name)),
    h("label.check", {}, createNs, " Create the namespace"),
    fields
      ? h("fieldset", {}, h("legend", { text: "Values from the chart's values.schema.json (empty: the chart's default)" }), fields.map((f) => f.node))
      : h("p.muted", { text: schemaProblem || (editable ? "Give values as YAML." : "This chart has no values.schema.json: give values as YAML.") }),
    field("More values (YAML)", values, "Merged under the fields above (they win)."),
    problems,
    h("div.row", {}, dryRun, h("button.primary", { type: "submit", text: "Install" })),
    opArea,
  );

  function body(dry) {
    clear(problems);
    const found = [];
    if (!name.checkValidity()) found.push("Release name must be a DNS label (lower-case letters, digits and '-')");
    if (!namespace.checkValidity()) found.push("Namespace must be a DNS label");
    const read = readFields(fields, defaults);
    found.push(...read.problems);
    if (found.length) {
      append(problems, [h("div.alert.bad", { role: "alert" }, h("strong", { text: "Check the form: " }), h("ul", {}, found.map((p) => h("li", { text: p }))))]);
      return null;
    }
    const out = { name: name.value, chart: chartInput.value.trim(), version: versionInput.value.trim() || undefined };
    if (!out.chart) {
      append(problems, [errorBox({ code: "InvalidInput", message: "give the chart to install", details: { field: "chart" } })]);
      return null;
    }
    if (values.value.trim()) out.values = values.value;
    if (Object.keys(read.values).length) out.set_json = read.values;
    if (createNs.checked) out.create_namespace = true;
    if (dry) out.dry_run = true;
    return out;
  }
  const target = () => releasePath(cluster.value, namespace.value);
  dryRun.addEventListener("click", async () => {
    const b = body(true);
    if (!b) return;
    clear(opArea);
    try {
      const r = await call("POST", target(), b);
      append(opArea, [h("p", {}, badge("ok"), " helm accepts these values. Rendered objects: ", (r.resources || []).map((x) => `${x.kind}/${x.name}`).join(", "))]);
    } catch (err) {
      append(opArea, [errorBox(err)]);
    }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const b = body(false);
    if (!b) return;
    try {
      const op = await call("POST", target(), b);
      const done = await followOperation(opArea, op);
      if (done.status === "succeeded") {
        append(opArea, [h("p", {}, h("a", { href: `#/release/${[cluster.value, namespace.value, name.value].map(e).join("/")}`, text: `Open ${name.value}` }))]);
      }
    } catch (err) {
      clear(opArea);
      append(opArea, [errorBox(err)]);
    }
  });
  return form;
}
