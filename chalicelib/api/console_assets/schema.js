// A chart's values.schema.json drives the install form: one input per top-level scalar property, checked in
// the browser with the schema's own rules (type, required, enum, minimum/maximum, length, pattern). helm checks
// the whole schema again on the server: "Check (dry run)" shows its verdict before anything is installed.

import { h, field, select } from "./dom.js";

const SCALARS = ["string", "integer", "number", "boolean"];

function typeOf(prop) {
  const t = Array.isArray(prop.type) ? prop.type.find((x) => x !== "null") : prop.type;
  return SCALARS.includes(t) ? t : null;
}

/** The inputs for a schema (null when there is none or it has no scalar property). */
export function schemaFields(schema, defaults = {}) {
  if (!schema || typeof schema !== "object" || !schema.properties) return null;
  const required = new Set(schema.required || []);
  const inputs = [];
  for (const [name, prop] of Object.entries(schema.properties)) {
    const type = typeOf(prop || {});
    if (!type) continue;
    const current = defaults[name];
    let input;
    if (Array.isArray(prop.enum)) {
      input = select([["", "(chart default)"], ...prop.enum.map((v) => [String(v), String(v)])], "");
    } else if (type === "boolean") {
      input = select([["", "(chart default)"], ["true", "true"], ["false", "false"]], "");
    } else {
      input = h("input", {
        type: type === "string" ? "text" : "number",
        step: type === "integer" ? "1" : type === "number" ? "any" : null,
        min: prop.minimum,
        max: prop.maximum,
        placeholder: current === undefined ? "" : String(current),
      });
    }
    input.dataset.valueName = name;
    const hint = [type, required.has(name) ? "required" : "", prop.description || ""].filter(Boolean).join(" · ");
    inputs.push({ name, type, prop, required: required.has(name), input, node: field(name, input, hint) });
  }
  return inputs.length ? inputs : null;
}

/** The values the fields set ({} for empty ones) and the problems found, each naming its field. */
export function readFields(inputs, defaults = {}) {
  const values = {};
  const problems = [];
  for (const f of inputs || []) {
    const raw = f.input.value.trim();
    f.input.removeAttribute("aria-invalid");
    if (raw === "") {
      if (f.required && defaults[f.name] === undefined) problems.push([f, "is required"]);
      continue;
    }
    let value = raw;
    if (f.type === "integer" || f.type === "number") {
      value = Number(raw);
      if (!Number.isFinite(value) || (f.type === "integer" && !Number.isInteger(value))) {
        problems.push([f, `must be ${f.type === "integer" ? "an integer" : "a number"}`]);
        continue;
      }
    } else if (f.type === "boolean") value = raw === "true";
    const p = f.prop;
    if (Array.isArray(p.enum) && !p.enum.map(String).includes(raw)) problems.push([f, `must be one of ${p.enum.join(", ")}`]);
    if (typeof value === "number") {
      if (p.minimum !== undefined && value < p.minimum) problems.push([f, `must be at least ${p.minimum}`]);
      if (p.maximum !== undefined && value > p.maximum) problems.push([f, `must be at most ${p.maximum}`]);
    }
    if (typeof value === "string") {
      if (p.minLength !== undefined && value.length < p.minLength) problems.push([f, `must be at least ${p.minLength} characters`]);
      if (p.maxLength !== undefined && value.length > p.maxLength) problems.push([f, `must be at most ${p.maxLength} characters`]);
      if (p.pattern && !new RegExp(p.pattern, "u").test(value)) problems.push([f, `must match ${p.pattern}`]);
    }
    values[f.name] = value;
  }
  problems.forEach(([f]) => f.input.setAttribute("aria-invalid", "true"));
  return { values, problems: problems.map(([f, msg]) => `${f.name} ${msg}`) };
}
