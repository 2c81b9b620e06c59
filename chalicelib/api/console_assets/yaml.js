// Values (JSON from the API) written as YAML for reading, editing and diffing. Strings that YAML 1.1 (helm)
// would read as something else are double-quoted (JSON's quoting is valid YAML), so the text reads back the same.

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_ ./@-]*$/;
const TRAPS = /^(y|yes|n|no|true|false|on|off|null|~)$/i;

function scalar(value) {
  if (value === null) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const s = String(value);
  return PLAIN.test(s) && !TRAPS.test(s) && !s.endsWith(" ") ? s : JSON.stringify(s);
}

function key(k) {
  return PLAIN.test(k) && !TRAPS.test(k) && !k.includes(" ") ? k : JSON.stringify(k);
}

function lines(value, indent) {
  const pad = "  ".repeat(indent);
  if (Array.isArray(value)) {
    if (!value.length) return null;
    const out = [];
    value.forEach((item) => {
      const inner = lines(item, indent + 1);
      if (inner === null) out.push(`${pad}- ${block(item)}`);
      else out.push(`${pad}- ${inner[0].trimStart()}`, ...inner.slice(1));
    });
    return out;
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (!keys.length) return null;
    const out = [];
    keys.forEach((k) => {
      const inner = lines(value[k], indent + 1);
      if (inner === null) out.push(`${pad}${key(k)}: ${block(value[k])}`);
      else if (Array.isArray(value[k])) out.push(`${pad}${key(k)}:`, ...lines(value[k], indent));
      else out.push(`${pad}${key(k)}:`, ...inner);
    });
    return out;
  }
  return null;
}

function block(value) {
  if (Array.isArray(value)) return "[]";
  if (value && typeof value === "object") return "{}";
  return scalar(value);
}

export function toYaml(value) {
  if (value === undefined || value === null) return "";
  const out = lines(value, 0);
  return out === null ? block(value) + "\n" : out.join("\n") + "\n";
}
