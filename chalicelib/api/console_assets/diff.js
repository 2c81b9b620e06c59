// A line diff (longest common subsequence after trimming the common head and tail), its side-by-side rows and
// their table.

import { h } from "./dom.js";

const LIMIT = 4_000_000; // cells of the LCS table; above it, the changed middle is shown as removed + added

export function diffLines(a, b) {
  const left = a.split("\n");
  const right = b.split("\n");
  let head = 0;
  while (head < left.length && head < right.length && left[head] === right[head]) head++;
  let tail = 0;
  while (
    tail < left.length - head &&
    tail < right.length - head &&
    left[left.length - 1 - tail] === right[right.length - 1 - tail]
  )
    tail++;
  const ops = [];
  for (let i = 0; i < head; i++) ops.push(["same", left[i], right[i]]);
  const x = left.slice(head, left.length - tail);
  const y = right.slice(head, right.length - tail);
  if (x.length * y.length > LIMIT) {
    x.forEach((l) => ops.push(["del", l, null]));
    y.forEach((r) => ops.push(["add", null, r]));
  } else {
    const n = x.length;
    const m = y.length;
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) {
        ops.push(["same", x[i++], y[j++]]);
      } else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) {
        ops.push(["add", null, y[j++]]);
      } else {
        ops.push(["del", x[i++], null]);
      }
    }
  }
  for (let i = left.length - tail; i < left.length; i++) ops.push(["same", left[i], right[i - left.length + right.length]]);
  return ops;
}

/** Rows for a side-by-side view: a removed line and an added line sit on the same row; unchanged runs longer
 * than 2*context are folded. Each row: {kind, left: [no, text] | null, right: [no, text] | null} or {fold: n}. */
export function sideBySide(ops, context = 3) {
  const rows = [];
  let ln = 0;
  let rn = 0;
  for (let k = 0; k < ops.length; ) {
    if (ops[k][0] === "same") {
      ln++;
      rn++;
      rows.push({ kind: "same", left: [ln, ops[k][1]], right: [rn, ops[k][2]] });
      k++;
      continue;
    }
    const dels = [];
    const adds = [];
    while (k < ops.length && ops[k][0] !== "same") {
      if (ops[k][0] === "del") dels.push(ops[k][1]);
      else adds.push(ops[k][2]);
      k++;
    }
    for (let i = 0; i < Math.max(dels.length, adds.length); i++) {
      const l = i < dels.length ? [++ln, dels[i]] : null;
      const r = i < adds.length ? [++rn, adds[i]] : null;
      rows.push({ kind: l && r ? "change" : l ? "del" : "add", left: l, right: r });
    }
  }
  const out = [];
  let run = [];
  const flush = (atStart, atEnd) => {
    const keepHead = atStart ? 0 : context;
    const keepTail = atEnd ? 0 : context;
    if (run.length > keepHead + keepTail + 1) {
      out.push(...run.slice(0, keepHead), { fold: run.length - keepHead - keepTail }, ...run.slice(run.length - keepTail));
    } else out.push(...run);
    run = [];
  };
  rows.forEach((row) => {
    if (row.kind === "same") run.push(row);
    else {
      flush(out.length === 0, false);
      out.push(row);
    }
  });
  flush(out.length === 0, true);
  return out;
}

export function changed(ops) {
  return ops.some((o) => o[0] !== "same");
}

/** The side-by-side view of two texts (la, lb: their labels), or a note that they are the same. */
export function diffView(a, b, la, lb) {
  const ops = diffLines(a.replace(/\n$/, ""), b.replace(/\n$/, ""));
  if (!changed(ops)) return h("p.same-note", { text: `No difference between ${la} and ${lb}.` });
  const rows = sideBySide(ops);
  const cell = (side, kind, mark) =>
    side
      ? [h("td.ln", { text: String(side[0]) }), h(`td.code.${kind}`, {}, h("span.mark", { "aria-hidden": "true", text: mark }), side[1])]
      : [h("td.ln"), h("td.code.empty")];
  return h(
    "div.scroll",
    {},
    h(
      "table.diff",
      {},
      h("caption", { text: `${la} (left) → ${lb} (right); − removed, + added` }),
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "" }), h("th", { scope: "col", text: la }), h("th", { scope: "col", text: "" }), h("th", { scope: "col", text: lb }))),
      h(
        "tbody",
        {},
        rows.map((r) =>
          r.fold
            ? h("tr.fold", {}, h("td", { colspan: "4", text: `⋯ ${r.fold} unchanged lines` }))
            : h(
                `tr.${r.kind}`,
                {},
                cell(r.left, r.kind === "same" ? "same" : "del", r.kind === "same" ? " " : "−"),
                cell(r.right, r.kind === "same" ? "same" : "add", r.kind === "same" ? " " : "+"),
              ),
        ),
      ),
    ),
  );
}
