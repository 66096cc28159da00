// Schema and indexes: each table's document type, indexes (with their build state) and
// search indexes, and the last push.
import type { Page } from "../app.js";
import { badge, clear, h, relative } from "../dom.js";
import { fieldsOf, typeText } from "../validators.js";

export const schemaPage: Page = (app, root) => {
  const body = h("div", { class: "stack" });
  root.appendChild(body);
  const render = () => {
    clear(body);
    const overview = app.overview;
    const push = overview.lastPush;
    const running = overview.push;
    if (running !== null) {
      const phase = running.phase === "waiting" ? "waiting for in-flight commits to settle" : "recording the new schema";
      body.appendChild(
        h(
          "div",
          { class: "card push-banner", id: "push-in-progress" },
          h("div", { class: "card-head" }, h("span", { class: "spinner" }), h("div", { class: "card-title" }, running.dryRun ? "A dry-run push is in progress" : "A push is in progress"), h("span", { class: "muted" }, `started ${relative(running.started)}`)),
          h("div", `Now ${phase}. `, running.pendingIndexes.length
            ? `${running.pendingIndexes.length === 1 ? "1 index" : `${running.pendingIndexes.length} indexes`} will be backfilled before the new schema takes effect:`
            : "No new index to backfill."),
          running.pendingIndexes.length ? h("ul", { class: "changes" }, running.pendingIndexes.map((i) => h("li", `${i.table}.${i.name} [${i.fields.join(", ")}]`))) : null,
        ),
      );
    }
    const added = new Set<string>((push?.plan?.addedIndexes ?? []).map((i: { table: string; name: string }) => `${i.table}.${i.name}`));
    body.appendChild(
      h(
        "div",
        { class: "card" },
        h("div", { class: "card-head" }, h("div", { class: "card-title" }, "Last push"), h("span", { class: "spacer" }), overview.schema ? badge("schema enforced", "ok") : badge("no schema", "muted")),
        push === null
          ? h("div", { class: "muted" }, "No push since the server started.")
          : push.changes.length
            ? h("ul", { class: "changes" }, push.changes.map((c) => h("li", c)))
            : h("div", { class: "muted" }, "No index or table changes: the schema was already in place."),
        push === null
          ? null
          : h(
              "div",
              { class: "push-figures" },
              h("span", h("strong", Number(push.plan.documentsChecked).toLocaleString()), " documents validated"),
              h("span", h("strong", Number(push.plan.backfillDocuments).toLocaleString()), " documents indexed into new indexes"),
              h("span", h("strong", String(push.plan.addedIndexes.length)), " indexes added"),
              h("span", h("strong", String(push.plan.removedIndexes.length)), " removed"),
            ),
        h(
          "div",
          { class: "hint" },
          "A push validates existing documents and backfills new indexes in one step before it takes effect: an index marked ready is complete and in use; a pending one is built by the push in progress.",
        ),
      ),
    );
    for (const table of overview.tables.filter((t) => !t.system)) {
      const fields = fieldsOf(table.document);
      body.appendChild(
        h(
          "div",
          { class: "card schema-table", "data-table": table.name },
          h("div", { class: "card-head" }, h("h3", { class: "mono" }, table.name), h("span", { class: "muted" }, `${table.count.toLocaleString()} documents`), h("span", { class: "spacer" }), table.inSchema ? null : badge("not in schema", "warn")),
          h(
            "div",
            { class: "schema-cols" },
            h(
              "div",
              h("div", { class: "label" }, "Fields"),
              fields.length
                ? h(
                    "table",
                    { class: "grid grid-compact" },
                    h("tbody", fields.map((f) => h("tr", h("td", { class: "mono" }, f.name, f.optional ? h("span", { class: "muted" }, "?") : null), h("td", { class: "mono type" }, typeText(f.type))))),
                  )
                : h("div", { class: "muted" }, "Any document (no validator)."),
            ),
            h(
              "div",
              h("div", { class: "label" }, "Indexes"),
              h(
                "table",
                { class: "grid grid-compact" },
                h(
                  "tbody",
                  table.indexes.map((i) =>
                    h(
                      "tr",
                      { "data-index": i.name },
                      h("td", { class: "mono" }, i.name, i.system ? h("span", { class: "tag" }, "built-in") : null),
                      h("td", { class: "mono muted" }, i.fields.join(", ")),
                      h("td", added.has(`${table.name}.${i.name}`) ? h("span", { class: "tag", title: "backfilled by the last push" }, "new") : null, " ", badge(i.state, i.state === "ready" ? "ok" : "warn")),
                    ),
                  ),
                  table.searchIndexes.map((s) =>
                    h("tr", h("td", { class: "mono" }, s.name, h("span", { class: "tag" }, "search")), h("td", { class: "mono muted" }, [s.searchField, ...(s.filterFields ?? [])].join(", ")), h("td", badge("ready", "ok"))),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    }
  };
  render();
  // Poll while the page is open: a push (from the CLI or reactor dev) shows up here.
  let stopped = false;
  let last = "";
  const poll = async () => {
    try {
      const overview = await app.refresh();
      const now = JSON.stringify([overview.push, overview.lastPush, overview.tables]);
      if (!stopped && now !== last) {
        last = now;
        render();
      }
    } catch {
      // the connection pill shows the server is unreachable; try again
    }
    if (!stopped) timer = setTimeout(poll, 1000);
  };
  let timer = setTimeout(poll, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
};
