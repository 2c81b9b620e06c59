// One release: overview, values (masked as the API masks them), notes, resources, drift, events, the history
// timeline with a side-by-side diff between any two revisions, and the actions (upgrade, rollback, uninstall,
// unlock), each followed live until its operation ends; an upgrade or a rollback is reviewed first (review.js) and
// applied as the reviewed plan.

import { h, append, clear, badge, when, table, field, select, pre, errorBox, section } from "./dom.js";
import { get, call, qs, releasePath, allowed } from "./api.js";
import { toYaml } from "./yaml.js";
import { diffView } from "./diff.js";
import { followOperation } from "./operation.js";
import { reviewStep } from "./review.js";

const TABS = ["Overview", "Values", "Resources", "Drift", "Events", "History", "Actions"];
const MASK = "<redacted>";

export async function releasePage(main, [cluster, namespace, name], me) {
  const path = releasePath(cluster, namespace, name);
  let stopped = false;
  const header = h("div.release-head");
  const tabs = h("div.tabs", { role: "tablist", "aria-label": "Release" });
  const host = h("div.tabpanel", { role: "tabpanel", tabindex: "0" }); // each tab renders into its own element
  const opArea = h("div.op-area");
  append(main, [
    h("p", {}, h("a", { href: "#/releases", text: "← Releases" })),
    header,
    opArea,
    tabs,
    host,
  ]);
  let release = null;
  let current = location.hash.includes("?tab=") ? location.hash.split("?tab=")[1] : "Overview";

  async function load() {
    release = await get(path + qs({ info: "values,notes,resources" }));
    clear(header);
    append(header, [
      h("h1", {}, release.name, " ", badge(release.status)),
      h(
        "dl.facts",
        {},
        [
          ["Cluster", release.cluster],
          ["Namespace", release.namespace],
          ["Chart", `${release.chart} ${release.chart_version}`],
          ["App version", release.app_version || "—"],
          ["Revision", String(release.revision)],
          ["Last deployed", when(release.last_deployed)],
        ].map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]),
      ),
      release.changed_out_of_band ? h("p.alert.warn", { text: "⚠ Changed outside Charthouse (found by reconcile)." }) : null,
    ]);
  }

  function renderTabs() {
    clear(tabs);
    TABS.forEach((t) => {
      const b = h("button", {
        type: "button",
        role: "tab",
        id: `tab-${t}`,
        "aria-selected": String(t === current),
        tabindex: t === current ? "0" : "-1",
        text: t,
        onclick: () => select_(t),
      });
      b.addEventListener("keydown", (e) => {
        const i = TABS.indexOf(t);
        const next = e.key === "ArrowRight" ? TABS[(i + 1) % TABS.length] : e.key === "ArrowLeft" ? TABS[(i + TABS.length - 1) % TABS.length] : null;
        if (next) {
          select_(next);
          tabs.querySelector(`#tab-${next}`).focus();
        }
      });
      tabs.append(b);
    });
    host.setAttribute("aria-labelledby", `tab-${current}`);
  }

  async function select_(t) {
    current = t;
    renderTabs();
    const panel = h("div");
    clear(host);
    host.append(panel);
    try {
      await RENDER[t](panel);
    } catch (err) {
      append(panel, [errorBox(err)]);
    }
  }

  const RENDER = {
    Overview: async (panel) => {
      append(panel, [
        section("Notes", release.notes ? pre(release.notes, "notes") : h("p.muted", { text: "The chart has no NOTES." })),
        section(
          "Details",
          h(
            "dl.facts",
            {},
            [
              ["Description", release.description || ""],
              ["Last action", release.last_action || ""],
              ["Last operation", release.last_operation_id ? h("a", { href: `#/operation/${encodeURIComponent(release.last_operation_id)}`, text: release.last_operation_id }) : ""],
              ["First deployed", when(release.first_deployed)],
              ["Failures", String(release.failures || 0)],
              ["Drift correction", release.drift_correction ? "on" : "off"],
              ["Values digest", release.values_digest || ""],
            ].map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)]),
          ),
        ),
      ]);
    },
    Values: async (panel) => {
      const box = h("div");
      const show = (values, revealed) => {
        clear(box);
        const text = toYaml(values || {});
        append(box, [
          h("p.muted", {
            text: revealed
              ? "Unmasked values (your reveal permission was used; this is audited)."
              : `User-supplied values; secrets are shown as ${MASK}.`,
          }),
          text ? pre(text, "code values") : h("p.muted", { text: "No user-supplied values (the chart's defaults apply)." }),
        ]);
      };
      show(release.values, false);
      const reveal = allowed(me, "reveal", cluster, namespace)
        ? h("button", {
            type: "button",
            text: "Reveal",
            onclick: async () => {
              try {
                const r = await get(path + qs({ info: "values", reveal: "true" }));
                show(r.values, true);
              } catch (err) {
                append(box, [errorBox(err)]);
              }
            },
          })
        : null;
      append(panel, [section("Values", reveal, box)]);
    },
    Resources: async (panel) => {
      const rows = release.resources || [];
      append(panel, [
        section(
          "Resources",
          rows.length
            ? table(
                [
                  { label: "Kind", cell: (r) => r.kind },
                  { label: "Name", cell: (r) => r.name },
                  { label: "Namespace", cell: (r) => r.namespace || "" },
                  { label: "API version", cell: (r) => r.api_version || "" },
                ],
                rows,
              )
            : h("p.muted", { text: "No resources." }),
        ),
      ]);
    },
    Drift: async (panel) => {
      append(panel, [h("p.muted", { text: "Comparing the live objects with the manifest…" })]);
      const r = await get(path + qs({ info: "drift" }));
      clear(panel);
      const d = r.drift;
      append(panel, [
        section(
          "Drift",
          h("p", {}, d.drifted ? badge("changed") : badge("in-sync"), d.drifted ? " Live objects differ from the manifest." : " Live objects match the manifest."),
          table(
            [
              { label: "Kind", cell: (x) => x.kind },
              { label: "Name", cell: (x) => x.name },
              { label: "State", cell: (x) => badge(x.state) },
              { label: "Differences", cell: (x) => (x.differences || []).map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(", ") },
            ],
            d.resources,
          ),
        ),
      ]);
    },
    Events: async (panel) => {
      const r = await get(path + qs({ info: "events" }));
      const rows = r.events || [];
      append(panel, [
        section(
          "Events",
          rows.length
            ? table(
                [
                  { label: "Time", cell: (e) => when(e.time) },
                  { label: "Kind", cell: (e) => e.kind },
                  { label: "Detail", cell: (e) => e.message || e.description || JSON.stringify(Object.fromEntries(Object.entries(e).filter(([k]) => !["time", "kind"].includes(k)))) },
                ],
                rows,
              )
            : h("p.muted", { text: "Reconcile found nothing on this release." }),
        ),
      ]);
    },
    History: (panel) => renderHistory(panel),
    Actions: (panel) => renderActions(panel),
  };

  async function renderHistory(panel) {
    const { history } = await get(path + "/history");
    const timeline = h(
      "ol.timeline",
      {},
      history.map((r) =>
        h(
          "li",
          {},
          h("span.rev", { text: `#${r.revision}` }),
          " ",
          badge(r.status),
          h("span", { text: ` ${r.chart} · ${r.app_version || ""} · ${when(r.updated)}` }),
          r.description ? h("div.muted", { text: r.description }) : null,
        ),
      ),
    );
    const revs = history.map((r) => [String(r.revision), `#${r.revision} (${r.status})`]);
    const left = select(revs, String(history[1] ? history[1].revision : history[0].revision), { name: "from" });
    const right = select(revs, String(history[0].revision), { name: "to" });
    const what = select([["values", "values"], ["manifest", "manifest"]], "values", { name: "what" });
    const out = h("div.diff-out", { "aria-live": "polite" });
    const form = h(
      "form.filters",
      { "aria-label": "Compare revisions" },
      field("From revision", left),
      field("To revision", right),
      field("Compare", what),
      h("button", { type: "submit", text: "Compare" }),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clear(out);
      append(out, [h("p.muted", { text: "Reading both revisions…" })]);
      try {
        const read = (rev) => get(path + qs({ revision: rev, info: "values,manifest" }));
        const [a, b] = await Promise.all([read(left.value), read(right.value)]);
        const text = (r) => (what.value === "values" ? toYaml(r.values || {}) : r.manifest || "");
        clear(out);
        append(out, [diffView(text(a), text(b), `#${left.value}`, `#${right.value}`)]);
      } catch (err) {
        clear(out);
        append(out, [errorBox(err)]);
      }
    });
    append(panel, [section("History", timeline), section("Compare two revisions", form, out)]);
  }

  /** Follow an accepted operation until it ends, then read the release again. */
  async function follow(op) {
    try {
      const done = await followOperation(opArea, op, () => stopped);
      if (stopped) return;
      await load().catch(() => {});
      if (done.status === "succeeded" && done.action === "uninstall") {
        append(opArea, [h("p", {}, "Uninstalled. ", h("a", { href: "#/releases", text: "Back to releases" }))]);
      }
      await select_(current);
    } catch (err) {
      clear(opArea);
      append(opArea, [errorBox(err)]);
    }
  }

  async function run(method, suffix, body) {
    clear(opArea);
    let op;
    try {
      op = await call(method, path + suffix, body);
    } catch (err) {
      clear(opArea);
      append(opArea, [errorBox(err)]);
      return;
    }
    await follow(op);
  }

  /** Review a change (its diff: the plan), then apply exactly that plan: `{"plan": id}` and nothing else. */
  function review(area, title, diffSuffix, method, applySuffix, body) {
    return reviewStep(area, {
      title,
      canReveal: allowed(me, "reveal", cluster, namespace),
      plan: (reveal) => call("POST", path + diffSuffix + qs({ reveal: reveal ? "true" : undefined }), body),
      apply: async (planId) => {
        const op = await call(method, path + applySuffix, { plan: planId }); // a refusal is the review's to show
        clear(opArea);
        opArea.scrollIntoView({ block: "nearest" });
        follow(op);
      },
    });
  }

  async function renderActions(panel) {
    // upgrade: the chart reference comes from the release's last install or upgrade request
    const ops = await get("/v1/operations" + qs({ cluster, namespace, release: name, limit: 50 })).catch(() => ({ operations: [] }));
    const last = ops.operations.find((o) => ["install", "upgrade"].includes(o.action) && o.request && o.request.chart);
    const chartRef = h("input", { name: "chart", value: last ? last.request.chart : "", required: true });
    const version = h("input", { name: "version", value: release.chart_version, list: "versions" });
    const versions = h("datalist", { id: "versions" });
    const versionPick = select([[release.chart_version, `${release.chart_version} (current)`]], release.chart_version, { name: "version-pick", "aria-label": "Versions in the repository" });
    versionPick.addEventListener("change", () => (version.value = versionPick.value));
    const loadVersions = async () => {
      const m = /^([a-z0-9-]+)\/([^/]+)$/.exec(chartRef.value.trim());
      if (!m) return;
      try {
        const r = await get("/v1/charts" + qs({ repository: m[1], q: m[2], versions: "true", limit: 100 }));
        const list = r.charts.filter((c) => c.name === m[2]).map((c) => c.version);
        clear(versionPick);
        append(versionPick, list.map((v) => h("option", { value: v, selected: v === release.chart_version, text: v === release.chart_version ? `${v} (current)` : v })));
        clear(versions);
        append(versions, list.map((v) => h("option", { value: v })));
      } catch {
        /* an OCI or URL chart has no index: the version is typed */
      }
    };
    chartRef.addEventListener("change", loadVersions);
    loadVersions();
    const values = h("textarea.code", { name: "values", rows: "10", spellcheck: "false", placeholder: "key: value" });
    const reuse = h("input", { type: "checkbox", name: "reuse_values", checked: true });
    const loadCurrent = h("button", {
      type: "button",
      text: "Edit all current values",
      onclick: () => {
        values.value = toYaml(release.values || {});
        reuse.checked = false;
      },
    });
    const upgradeProblem = h("div");
    const reviewArea = h("div.review-area"); // the review of an upgrade or a rollback, above the forms
    const upgrade = h(
      "form.card",
      { "aria-labelledby": "upgrade-title" },
      h("h2", { id: "upgrade-title", text: "Upgrade" }),
      field("Chart", chartRef, "repository/chart, oci://… or an archive URL"),
      field("Version", version, "exact version or a constraint"),
      field("Versions in the repository", versionPick),
      versions,
      field("Values (YAML)", values, "With “keep the current values”, what you write here is merged over them."),
      h("label.check", {}, reuse, " Keep the current values (reuse_values)"),
      h("div.row", {}, loadCurrent),
      upgradeProblem,
      h("button.primary", { type: "submit", text: "Review the upgrade" }),
    );
    upgrade.addEventListener("submit", (e) => {
      e.preventDefault();
      clear(upgradeProblem);
      if (values.value.includes(MASK)) {
        append(upgradeProblem, [errorBox({ code: "InvalidInput", message: `values still hold ${MASK}: type the secret, or remove that key and keep the current values`, details: { field: "values" } })]);
        return;
      }
      const body = { chart: chartRef.value.trim(), version: version.value.trim() || undefined };
      if (values.value.trim()) body.values = values.value;
      if (reuse.checked) body.reuse_values = true;
      review(reviewArea, `Review the upgrade of ${name}`, "/diff", "PUT", "", body);
    });

    const { history } = await get(path + "/history");
    const target = select(
      history.filter((r) => r.revision !== release.revision).map((r) => [String(r.revision), `#${r.revision} · ${r.chart} · ${r.status}`]),
      undefined,
      { name: "revision" },
    );
    const rollback = h(
      "form.card",
      { "aria-labelledby": "rollback-title" },
      h("h2", { id: "rollback-title", text: "Roll back" }),
      history.length > 1 ? field("Roll back to revision", target) : h("p.muted", { text: "There is no other revision." }),
      h("button", { type: "submit", disabled: history.length < 2, text: "Review the rollback" }),
    );
    rollback.addEventListener("submit", (e) => {
      e.preventDefault();
      const revision = Number(target.value);
      review(reviewArea, `Review the rollback of ${name} to revision ${revision}`, "/rollback/diff", "POST", "/rollback", { revision });
    });

    const confirmName = h("input", { name: "confirm", autocomplete: "off", spellcheck: "false" });
    const keep = h("input", { type: "checkbox", name: "keep_history" });
    const uninstallButton = h("button.danger", { type: "submit", disabled: true, text: "Uninstall" });
    confirmName.addEventListener("input", () => (uninstallButton.disabled = confirmName.value !== name));
    const uninstall = h(
      "form.card",
      { "aria-labelledby": "uninstall-title" },
      h("h2", { id: "uninstall-title", text: "Uninstall" }),
      field(`Type the release name (${name}) to confirm`, confirmName),
      h("label.check", {}, keep, " Keep helm's history (keep_history)"),
      uninstallButton,
    );
    uninstall.addEventListener("submit", (e) => {
      e.preventDefault();
      if (confirmName.value !== name) return;
      run("DELETE", keep.checked ? "?keep_history=true" : "", undefined);
    });

    const unlock = h(
      "form.card",
      { "aria-labelledby": "unlock-title" },
      h("h2", { id: "unlock-title", text: "Unlock" }),
      h("p.muted", { text: "Recover a release whose operation was lost (after its lease expired)." }),
      h("button", { type: "submit", text: "Unlock" }),
    );
    unlock.addEventListener("submit", (e) => {
      e.preventDefault();
      run("POST", "/unlock", {});
    });
    append(panel, [reviewArea, h("div.grid", {}, upgrade, rollback, uninstall, unlock)]);
  }

  await load();
  await select_(TABS.includes(current) ? current : "Overview");
  return () => {
    stopped = true;
  };
}
