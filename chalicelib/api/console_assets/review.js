// The review before an upgrade or a rollback: a diff's answer (POST .../diff, .../rollback/diff) shown as the
// objects that would change (added, changed, removed, with their unified diff) and the three-way values view
// (chart defaults, deployed, proposed: masked as the API answers them), with its plan. "Apply this plan" sends
// {"plan": id} and nothing else, so what is applied is exactly what was reviewed; a refusal (409 PlanStale naming
// what changed, 404 for an expired or unknown plan) is shown with an offer to review again.

import { h, append, clear, badge, when, table, pre, errorBox } from "./dom.js";
import { toYaml } from "./yaml.js";
import { diffView } from "./diff.js";

const CHANGES = ["added", "changed", "removed"];
const WHAT_CHANGED = {
  revision: "the release has another revision (another operation ran)",
  chart: "the chart's archive has other content at the same version (re-uploaded or re-pushed)",
  values: "the values it would apply differ",
  "source commit": "the source commit moved",
};

/** A unified diff, one line per element; each line keeps its own +/− sign (colour never carries it alone). */
function unified(text) {
  const lines = text.replace(/\n$/, "").split("\n");
  const kind = (l) =>
    l.startsWith("+++") || l.startsWith("---") ? "meta" : l.startsWith("@@") ? "hunk" : l.startsWith("+") ? "add" : l.startsWith("-") ? "del" : "same";
  return h("pre.udiff", { tabindex: "0" }, lines.map((l) => h(`span.${kind(l)}`, { text: l + "\n" })));
}

function objectName(o) {
  return `${o.kind} ${o.namespace ? o.namespace + "/" : ""}${o.name}${o.hook ? " (hook)" : ""}`;
}

function objectsView(answer) {
  const objects = answer.objects || [];
  const moving = objects.filter((o) => CHANGES.includes(o.change));
  const summary = answer.summary || {};
  const counts = h(
    "p.counts",
    { "aria-label": "Objects by change" },
    [...CHANGES, "unchanged"].map((c) => h("span", {}, badge(c), ` ${summary[c] || 0}`)),
  );
  if (!moving.length) return [counts, h("p.muted", { text: "No object would change." })];
  return [
    counts,
    table(
      [
        { label: "Change", cell: (o) => badge(o.change) },
        { label: "Kind", cell: (o) => o.kind + (o.hook ? " (hook)" : "") },
        { label: "Name", cell: (o) => o.name },
        { label: "Namespace", cell: (o) => o.namespace || "" },
      ],
      moving,
      "Objects that would change",
    ),
    moving
      .filter((o) => o.diff)
      .map((o) =>
        h(
          "details.object-diff",
          { open: o.change === "changed", "data-object": `${o.kind}/${o.name}` },
          h("summary", {}, badge(o.change), ` ${objectName(o)}`),
          unified(o.diff),
        ),
      ),
  ];
}

function valuesView(values) {
  if (!values) return null;
  const column = (title, value, empty) =>
    h(
      "div.way",
      { "data-way": title },
      h("h4", { text: title }),
      value === null ? h("p.muted", { text: empty }) : pre(toYaml(value) || "{}\n", "code values"),
    );
  return [
    h(
      "div.threeway",
      {},
      column("Chart defaults", values.chart_defaults, "A rollback uses the target revision's chart."),
      column("Deployed", values.deployed),
      column("Proposed", values.proposed),
    ),
    diffView(toYaml(values.deployed || {}), toYaml(values.proposed || {}), "deployed", "proposed"),
  ];
}

/** A plan's refusal, told in words, with "Review again" (a stale or expired plan can never be applied). */
function refusal(err, plan, again) {
  const stale = err.code === "PlanStale";
  const gone = err.code === "PlanNotFound";
  if (!stale && !gone) return errorBox(err); // any other refusal, as every form shows it (field, permission)
  const box = h("div.alert.bad.refusal", { role: "alert", "data-code": err.code || "" });
  if (stale) {
    const changed = (err.details && err.details.changed) || [];
    append(box, [
      h("strong", { text: "Refused: the plan is stale. " }),
      "Nothing was applied. Since this review: ",
      h("ul", {}, changed.map((c) => h("li", {}, h("code", { text: c }), ` — ${WHAT_CHANGED[c] || "it changed"}`))),
    ]);
  } else {
    append(box, [
      h("strong", { text: "Refused: this plan expired or is unknown. " }),
      `Nothing was applied. A plan is kept for an hour (this one until ${when(plan.expires_at)}).`,
    ]);
  }
  append(box, [h("div.row", {}, h("button", { type: "button", text: "Review again", onclick: again }))]);
  return box;
}

/**
 * Show the review of a change in `area`: o.title, o.plan(reveal) -> a diff's answer, o.apply(planId) -> resolves
 * once the operation was accepted (throws the API's refusal), o.canReveal: whether the caller may reveal values.
 */
export function reviewStep(area, o) {
  async function load(reveal) {
    clear(area);
    append(area, [h("p.muted.review-wait", { role: "status", text: "Planning: helm renders the change (a dry run; nothing is applied)…" })]);
    area.scrollIntoView({ block: "nearest" });
    let answer;
    try {
      answer = await o.plan(reveal);
    } catch (err) {
      clear(area);
      append(area, [refusal(err, {}, () => load(reveal))]);
      return;
    }
    clear(area);
    const plan = answer.plan;
    const outcome = h("div", { "aria-live": "polite" });
    const apply = h("button.primary", { type: "button", text: "Apply this plan" });
    const cancel = h("button", { type: "button", text: "Cancel", onclick: () => clear(area) });
    const revealButton =
      o.canReveal && !reveal ? h("button", { type: "button", text: "Reveal values", onclick: () => load(true) }) : null;
    apply.addEventListener("click", async () => {
      apply.disabled = true;
      clear(outcome);
      try {
        await o.apply(plan.id);
        cancel.disabled = true;
        if (revealButton) revealButton.disabled = true;
        append(outcome, [h("p.muted", { text: `Plan ${plan.id} accepted: its operation is followed above.` })]);
      } catch (err) {
        const dead = err.code === "PlanStale" || err.code === "PlanNotFound";
        apply.disabled = dead;
        append(outcome, [refusal(err, plan, () => load(reveal))]);
      }
    });
    const from = answer.from_revision ? `revision ${answer.from_revision}` : "no release yet";
    const to = answer.action === "rollback" && answer.to_revision ? ` → revision ${answer.to_revision}'s chart and values` : "";
    append(area, [
      h(
        "section.card.review",
        { "aria-labelledby": "review-title", "data-plan": plan.id },
        h("h2", { id: "review-title", text: o.title }),
        h(
          "p.muted",
          {},
          `From ${from}${to}. A dry run: nothing is applied until you apply this plan, and it applies exactly this, or is refused. Plan `,
          h("code.plan-id", { text: plan.id }),
          `, kept until ${when(plan.expires_at)}.`,
        ),
        h("h3", { text: "Objects" }),
        objectsView(answer),
        h("h3", { text: "Values" }),
        h("p.muted", {
          text: reveal
            ? "Unmasked values (your reveal permission was used; this is audited)."
            : "User-supplied values over the chart's defaults; secrets are shown as <redacted>.",
        }),
        valuesView(answer.values),
        h("div.row", {}, apply, revealButton, cancel),
        outcome,
      ),
    ]);
    area.scrollIntoView({ block: "start" });
  }
  return load(false);
}
