// Building the page: every piece of text from the API goes in as a text node (textContent), never as HTML.

/** h("tag.class", {attr: value, onclick: fn}, ...children): an element; strings become text nodes. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "value") el.value = String(value);
    else if (key === "checked") el.checked = Boolean(value);
    else if (key === "href" && !String(value).startsWith("#")) throw new Error("only in-page links");
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const STATUS = {
  deployed: ["ok", "✓"],
  succeeded: ["ok", "✓"],
  "in-sync": ["ok", "✓"],
  failed: ["bad", "✗"],
  missing: ["bad", "✗"],
  changed: ["warn", "≠"],
  added: ["ok", "+"],
  removed: ["bad", "−"],
  unchanged: ["muted", "="],
  superseded: ["muted", "○"],
  uninstalled: ["muted", "–"],
  unknown: ["muted", "?"],
  queued: ["warn", "…"],
  running: ["warn", "↻"],
  uninstalling: ["warn", "↻"],
  pending: ["warn", "↻"],
  "pending-install": ["warn", "↻"],
  "pending-upgrade": ["warn", "↻"],
  "pending-rollback": ["warn", "↻"],
  ok: ["ok", "✓"],
  error: ["bad", "✗"],
  denied: ["bad", "⛔"],
};

/** A status as a symbol and its word: colour never carries the meaning alone. */
export function badge(status) {
  const [kind, symbol] = STATUS[status] || ["muted", "?"];
  return h(`span.badge.${kind}`, { "data-status": status }, h("span", { "aria-hidden": "true", text: symbol }), " ", status);
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/** A table: columns [{label, cell(row) -> node|string}]. */
export function table(columns, rows, caption) {
  return h(
    "div.scroll",
    {},
    h(
      "table",
      {},
      caption ? h("caption", { text: caption }) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", text: c.label })))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c) => h("td", { "data-label": c.label }, c.cell(row)))))),
    ),
  );
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div.field", {}, h("label", { for: id, text: label }), input, hint ? h("small.muted", { text: hint }) : null);
}

export function select(options, value, attrs = {}) {
  return h(
    "select",
    attrs,
    options.map((o) => {
      const [v, label] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: v === value, text: label });
    }),
  );
}

export function pre(text, cls = "") {
  return h(`pre${cls ? "." + cls : ""}`, { tabindex: "0", text });
}

export function errorBox(err) {
  const box = h("div.alert.bad", { role: "alert" });
  const title = err.status === 403 ? "Not allowed" : err.code || "Error";
  append(box, [h("strong", { text: `${title}: ` }), err.message || String(err)]);
  const d = err.details || {};
  const facts = [];
  if (d.permission) facts.push(`missing permission "${d.permission}"`);
  if (d.cluster) facts.push(`cluster ${d.cluster}`);
  if (d.namespace) facts.push(`namespace ${d.namespace}`);
  if (d.field) facts.push(`field ${d.field}`);
  if (d.operation_id) facts.push(`operation ${d.operation_id}`);
  if (facts.length) append(box, [h("div.muted", { text: facts.join(" · ") })]);
  return box;
}

export function section(title, ...children) {
  return h("section.card", {}, h("h2", { text: title }), ...children);
}
