// One operation's progress, live until it ends, with its error when it fails: what helm waits for while it runs
// (progress), and why it failed (error.details.diagnosis: the summary, the objects, Pods and containers, events).

import { h, append, clear, badge, when, table } from "./dom.js";
import { get, watch } from "./api.js";

const OBJECT_STATUS = { Current: "ok", InProgress: "pending", Failed: "failed", NotFound: "missing" };

function objectStatus(status) {
  // a kstatus word, shown with the symbol of its nearest status (colour never carries it alone)
  const b = badge(OBJECT_STATUS[status] || "unknown");
  b.lastChild.textContent = status;
  return b;
}

const OBJECTS = [
  { label: "Kind", cell: (r) => r.kind },
  { label: "Name", cell: (r) => r.name },
  { label: "Status", cell: (r) => objectStatus(r.status) },
  { label: "Message", cell: (r) => r.message || "" },
];

/** A running operation's progress: phase, ready/total by kind, and what is not ready yet. */
export function progressView(progress) {
  if (!progress) return null;
  const kinds = Object.entries(progress.by_kind || {}).map(([kind, n]) => `${kind} ${n.ready}/${n.total}`);
  return h(
    "div.progress",
    { "data-phase": progress.phase },
    h("div", {}, h("strong", { text: `${progress.phase}: ` }), `${progress.ready}/${progress.total} ready`, h("span.muted", { text: kinds.length ? ` · ${kinds.join(" · ")}` : "" })),
    progress.not_ready && progress.not_ready.length ? table(OBJECTS, progress.not_ready, "Not ready yet") : null,
  );
}

function podRows(pods) {
  const rows = [];
  for (const pod of pods || []) {
    const scheduled = (pod.conditions || []).find((c) => c.type === "PodScheduled" && c.status === "False");
    const containers = pod.containers && pod.containers.length ? pod.containers : [null];
    for (const c of containers) rows.push({ pod, c, scheduled });
  }
  return rows;
}

const PODS = [
  { label: "Pod", cell: (r) => r.pod.name },
  { label: "Phase", cell: (r) => r.pod.phase },
  { label: "Node", cell: (r) => r.pod.node || "–" },
  { label: "Container", cell: (r) => (r.c ? r.c.name : "") },
  { label: "State", cell: (r) => (r.c ? `${r.c.state}${r.c.ready ? ", ready" : ""}` : "") },
  { label: "Reason", cell: (r) => (r.c && r.c.reason) || (r.scheduled && r.scheduled.reason) || "" },
  { label: "Exit code", cell: (r) => (r.c && r.c.exit_code !== null && r.c.exit_code !== undefined ? String(r.c.exit_code) : "") },
  { label: "Restarts", cell: (r) => (r.c ? String(r.c.restarts) : "") },
  { label: "Message", cell: (r) => (r.c && r.c.message) || (r.scheduled && r.scheduled.message) || "" },
];

const EVENTS = [
  { label: "Reason", cell: (e) => e.reason },
  { label: "Object", cell: (e) => e.object },
  { label: "Count", cell: (e) => String(e.count) },
  { label: "Last seen", cell: (e) => when(e.last_seen) },
  { label: "Message", cell: (e) => e.message },
];

const HOOKS = [
  { label: "Hook", cell: (x) => x.name },
  { label: "Kind", cell: (x) => x.kind },
  { label: "Runs on", cell: (x) => (x.events || []).join(", ") },
  { label: "Phase", cell: (x) => x.phase },
  { label: "Status", cell: (x) => (x.phase === "NotRun" ? "not run" : objectStatus(x.status)) },
  { label: "Message", cell: (x) => (x.phase === "NotRun" ? "" : x.message || "") },
];

/** Why an operation failed, read from the cluster when helm returned. */
export function diagnosisView(diag) {
  if (!diag) return null;
  const notReady = (diag.resources || []).filter((r) => r.status !== "Current");
  const hookPods = (diag.hooks || []).flatMap((x) => x.pods || []);
  return h(
    "section.diagnosis",
    { "aria-label": "Diagnosis" },
    h("h3", { text: "Why it failed" }),
    h("p.summary", { text: diag.summary }),
    diag.note || diag.observed_at ? h("p.muted", { text: [diag.note, diag.observed_at ? `observed ${when(diag.observed_at)}` : ""].filter(Boolean).join(" · ") }) : null,
    diag.error ? h("div.alert.warn", { text: diag.error }) : null,
    notReady.length ? table(OBJECTS, notReady, "Objects not ready") : null,
    diag.pods && diag.pods.length ? table(PODS, podRows(diag.pods), "Pods not ready and their containers") : null,
    diag.hooks && diag.hooks.length ? table(HOOKS, diag.hooks, "Hooks") : null,
    hookPods.length ? table(PODS, podRows(hookPods), "Pods of the failed hooks") : null,
    diag.events && diag.events.length ? table(EVENTS, diag.events, "Latest warning events") : null,
  );
}

function details(current) {
  const running = current.status === "queued" || current.status === "running";
  const diag = current.error && current.error.details ? current.error.details.diagnosis : null;
  return [
    running ? h("progress", { "aria-label": `${current.action} in progress` }) : null,
    running ? progressView(current.progress) : null,
    current.error ? h("div.alert.bad", { role: "alert" }, h("strong", { text: `${current.error.code || "Error"}: ` }), current.error.message || "") : null,
    diagnosisView(diag),
    current.status === "succeeded" && current.result && current.result.revision
      ? h("div.muted", { text: `revision ${current.result.revision} · finished ${when(current.finished_at)}` })
      : null,
  ];
}

/** A panel that follows op; resolves with the finished operation. */
export function followOperation(container, op, isCancelled) {
  const panel = h("div.operation", { role: "status", "aria-live": "polite", "data-operation": op.id });
  clear(container);
  append(container, [panel]);
  const started = Date.now();
  return watch(
    op,
    (current) => {
      clear(panel);
      const seconds = Math.round((Date.now() - started) / 1000);
      append(panel, [
        h("div", {}, h("strong", { text: `${current.action} ` }), badge(current.status), h("span.muted", { text: ` ${current.id} · ${seconds} s` })),
        details(current),
      ]);
    },
    isCancelled,
  );
}

/** #/operation/<id>: one operation, followed live while it runs. */
export async function operationPage(view, [id]) {
  const op = await get(`/v1/operations/${encodeURIComponent(id)}`);
  const r = op.release || {};
  const link = r.namespace && r.namespace !== "*"
    ? h("a", { href: `#/release/${[r.cluster, r.namespace, r.name].map(encodeURIComponent).join("/")}`, text: `${r.cluster}/${r.namespace}/${r.name}` })
    : `${r.cluster}/${r.namespace}/${r.name}`;
  const area = h("div");
  append(view, [
    h("h1", { text: `Operation ${op.action}` }),
    h("p.muted", {}, link, ` · ${op.id} · created ${when(op.created_at)}`),
    area,
  ]);
  let stopped = false;
  followOperation(area, op, () => stopped).catch(() => {});
  return () => {
    stopped = true;
  };
}
