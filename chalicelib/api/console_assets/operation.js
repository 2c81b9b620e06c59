// One operation's progress, live until it ends, with its error when it fails.

import { h, append, clear, badge, when } from "./dom.js";
import { watch } from "./api.js";

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
        current.status === "queued" || current.status === "running"
          ? h("progress", { "aria-label": `${current.action} in progress` })
          : null,
        current.error ? h("div.alert.bad", { role: "alert" }, h("strong", { text: `${current.error.code || "Error"}: ` }), current.error.message || "") : null,
        current.status === "succeeded" && current.result && current.result.revision
          ? h("div.muted", { text: `revision ${current.result.revision} · finished ${when(current.finished_at)}` })
          : null,
      ]);
    },
    isCancelled,
  );
}
