// Data: tables with live counts; a live, paginated, filterable view of one table; a
// drawer to view, edit, insert and delete documents (validated by the server's schema).
import type { Value } from "../../../client-js/dist/index.js";
import type { TableInfo } from "../api.js";
import type { App, Page } from "../app.js";
import { clear, confirmDialog, dateTime, editable, empty, h, icon, relative, short, toast, typeClass } from "../dom.js";
import { fieldsOf, isText, template, type ValidatorJson } from "../validators.js";

const PAGE_SIZE = 25;

interface TableCount {
  name: string;
  count: number;
  system: boolean;
}

interface PageResult {
  page: Record<string, Value>[];
  isDone: boolean;
  continueCursor: string;
}

export const dataPage: Page = (app, root, params) => {
  const stops: (() => void)[] = [];
  const list = h("div", { class: "table-list" });
  const view = h("section", { class: "table-view" });
  root.appendChild(h("div", { class: "split" }, h("aside", { class: "subnav" }, list), view));

  let counts: TableCount[] = app.overview.tables.map((t) => ({ name: t.name, count: t.count, system: t.system }));
  const firstUser = counts.find((t) => !t.system)?.name ?? counts[0]?.name;
  const current = params[0] ?? firstUser;

  const renderList = () => {
    clear(list);
    const group = (label: string, items: TableCount[]) => {
      if (items.length === 0) return;
      list.appendChild(h("div", { class: "subnav-label" }, label));
      for (const t of items) {
        list.appendChild(
          h(
            "a",
            { class: `subnav-item${t.name === current ? " active" : ""}`, href: t.name === "_env" ? "#/env" : `#/data/${encodeURIComponent(t.name)}`, "data-table": t.name },
            h("span", { class: "subnav-name" }, t.name),
            h("span", { class: "count" }, Number(t.count).toLocaleString()),
          ),
        );
      }
    };
    group("Tables", counts.filter((t) => !t.system));
    group("System tables", counts.filter((t) => t.system));
  };
  renderList();
  stops.push(
    app.session.watch<TableCount[]>(
      "_system/dashboard:tables",
      {},
      (value) => {
        counts = value;
        renderList();
        const here = value.find((t) => t.name === current);
        const pill = view.querySelector(".table-count");
        if (here && pill) pill.textContent = `${Number(here.count).toLocaleString()} documents`;
      },
      () => undefined,
    ),
  );

  if (current === undefined) {
    view.appendChild(empty("No tables yet", "Define tables in schema.py and push it."));
    return () => stops.forEach((s) => s());
  }
  const info = app.overview.tables.find((t) => t.name === current);
  if (info === undefined) {
    // Maybe a push added it since the overview was read: look again once.
    view.appendChild(h("div", { class: "muted pad" }, "Loading…"));
    let active = true;
    void app.refresh().then((overview) => {
      if (!active) return;
      if (overview.tables.some((t) => t.name === current)) app.navigate(location.hash);
      else {
        clear(view);
        view.appendChild(h("div", { class: "alert alert-error" }, `There is no table named "${current}".`));
      }
    });
    return () => {
      active = false;
      stops.forEach((s) => s());
    };
  }
  stops.push(tableView(app, view, info));
  return () => stops.forEach((s) => s());
};

function parseFilterValue(text: string, type: ValidatorJson | undefined): Value {
  if (isText(type)) return text;
  try {
    return JSON.parse(text) as Value;
  } catch {
    return text;
  }
}

function tableView(app: App, view: HTMLElement, info: TableInfo): () => void {
  const schemaFields = fieldsOf(info.document);
  const fieldType = (name: string) => schemaFields.find((f) => f.name === name)?.type;
  let index = "by_creation_time";
  let prefix: Value[] = [];
  let order: "asc" | "desc" = "desc";
  let cursors: (string | null)[] = [null];
  let pageNumber = 0;
  let unsubscribe: (() => void) | null = null;
  let seen = new Set<string>();
  let firstResult = true;
  let rows: Record<string, Value>[] = [];

  const countPill = h("span", { class: "table-count" }, `${info.count.toLocaleString()} documents`);
  const selected = new Set<string>();
  const deleteSelected = h(
    "button",
    {
      class: "btn btn-danger-ghost hidden",
      id: "delete-selected",
      on: {
        click: async () => {
          const ids = [...selected];
          const what = ids.length === 1 ? "1 document" : `${ids.length} documents`;
          if (!(await confirmDialog(`Delete ${what}?`, `They will be deleted from ${info.name} in one transaction. This cannot be undone.`))) return;
          try {
            const { deleted } = await app.session.post("/api/dashboard/documents/delete", { ids });
            toast(`Deleted ${deleted} document${deleted === 1 ? "" : "s"}`);
            selected.clear();
            updateSelection();
          } catch (e) {
            toast((e as Error).message, "error");
          }
        },
      },
    },
    icon("trash"),
    h("span", "Delete selected"),
  );
  function updateSelection(): void {
    deleteSelected.classList.toggle("hidden", selected.size === 0);
    deleteSelected.lastChild!.textContent = `Delete ${selected.size} selected`;
    for (const box of grid.querySelectorAll<HTMLInputElement>("input.row-check")) box.checked = selected.has(box.value);
  }
  const addButton = info.system
    ? h("span", { class: "badge badge-muted" }, "read-only")
    : h("button", { class: "btn btn-primary", id: "add-document", on: { click: () => openDrawer(null) } }, icon("plus"), "Add document");
  const indexSelect = h(
    "select",
    { class: "select", "aria-label": "Index", on: { change: () => renderFilterInputs() } },
    info.indexes.map((i) => h("option", { value: i.name }, `${i.name} (${i.fields.join(", ")})`)),
  );
  indexSelect.value = index;
  const filterInputs = h("div", { class: "filter-inputs" });
  const orderSelect = h(
    "select",
    { class: "select", "aria-label": "Order", on: { change: () => { order = orderSelect.value as "asc" | "desc"; restart(); } } },
    h("option", { value: "desc" }, "Descending"),
    h("option", { value: "asc" }, "Ascending"),
  );
  const filterError = h("div", { class: "form-error" });
  const grid = h("div", { class: "grid-wrap" });
  const pager = h("div", { class: "pager" });

  function renderFilterInputs(): void {
    clear(filterInputs);
    const spec = info.indexes.find((i) => i.name === indexSelect.value)!;
    for (const field of spec.fields) {
      filterInputs.appendChild(
        h("input", { class: "input input-small", "data-field": field, placeholder: `${field} =`, "aria-label": `${field} equals`, on: { keydown: (e: KeyboardEvent) => e.key === "Enter" && apply() } }),
      );
    }
  }

  function apply(): void {
    const values: Value[] = [];
    let gap = false;
    for (const input of filterInputs.querySelectorAll("input")) {
      const text = input.value;
      if (text === "") {
        gap = true;
        continue;
      }
      if (gap) {
        filterError.textContent = "Fill the index fields from the first one: a filter is a prefix of the index.";
        return;
      }
      values.push(parseFilterValue(text, fieldType(input.getAttribute("data-field")!)));
    }
    filterError.textContent = "";
    index = indexSelect.value;
    prefix = values;
    restart();
  }

  function restart(): void {
    cursors = [null];
    pageNumber = 0;
    subscribe();
  }

  function subscribe(): void {
    unsubscribe?.();
    firstResult = true;
    const args: Record<string, Value> = { table: info.name, index, prefix, order, num_items: PAGE_SIZE };
    const cursor = cursors[pageNumber];
    if (cursor) args["cursor"] = cursor;
    grid.classList.add("loading");
    unsubscribe = app.session.watch<PageResult>(
      "_system/dashboard:documents",
      args,
      (result) => {
        grid.classList.remove("loading");
        filterError.textContent = "";
        renderRows(result);
      },
      (error) => {
        grid.classList.remove("loading");
        filterError.textContent = error.message;
      },
    );
  }

  function columns(docs: Record<string, Value>[]): string[] {
    const names = schemaFields.map((f) => f.name);
    for (const doc of docs) for (const key of Object.keys(doc)) if (!key.startsWith("_") && !names.includes(key)) names.push(key);
    return ["_id", ...names, "_creationTime"];
  }

  function renderRows(result: PageResult): void {
    rows = result.page;
    clear(grid);
    const cols = columns(rows);
    if (rows.length === 0) {
      grid.appendChild(empty(prefix.length ? "No documents match this filter" : "This table is empty", info.system ? undefined : "Add a document, or write one from a mutation."));
    } else {
      const table = h(
        "table",
        { class: "grid", "data-table": info.name },
        h("thead", h("tr", info.system ? null : h("th", { class: "check-cell" }), cols.map((c) => h("th", c)))),
        h(
          "tbody",
          rows.map((doc) => {
            const id = String(doc["_id"]);
            const tr = h(
              "tr",
              { "data-id": id, class: !firstResult && !seen.has(id) ? "flash" : undefined, on: { click: () => openDrawer(doc) } },
              info.system
                ? null
                : h(
                    "td",
                    { class: "check-cell", on: { click: (e: Event) => e.stopPropagation() } },
                    h("input", {
                      type: "checkbox",
                      class: "row-check",
                      value: id,
                      "aria-label": `Select ${id}`,
                      checked: selected.has(id),
                      on: {
                        change: (e: Event) => {
                          if ((e.target as HTMLInputElement).checked) selected.add(id);
                          else selected.delete(id);
                          updateSelection();
                        },
                      },
                    }),
                  ),
              cols.map((c) => {
                const value = doc[c];
                if (c === "_creationTime") return h("td", { class: "cell-time", title: dateTime(Number(value)) }, relative(Number(value)));
                if (c === "_id") return h("td", { class: "cell-id" }, id);
                return h("td", { class: typeClass(value) }, value === undefined ? h("span", { class: "v-missing" }, "unset") : short(value, 60));
              }),
            );
            return tr;
          }),
        ),
      );
      grid.appendChild(table);
    }
    seen = new Set(rows.map((d) => String(d["_id"])));
    // Selections of rows that left the page (deleted, or paged away) are dropped.
    for (const id of [...selected]) if (!seen.has(id)) selected.delete(id);
    updateSelection();
    firstResult = false;
    clear(pager);
    const prev = h("button", { class: "btn btn-small", disabled: pageNumber === 0, on: { click: () => { pageNumber -= 1; subscribe(); } } }, icon("chevronLeft"), "Previous");
    const next = h(
      "button",
      {
        class: "btn btn-small",
        disabled: result.isDone,
        on: {
          click: () => {
            cursors[pageNumber + 1] = result.continueCursor;
            pageNumber += 1;
            subscribe();
          },
        },
      },
      "Next",
      icon("chevronRight"),
    );
    pager.append(h("span", { class: "muted" }, `Page ${pageNumber + 1} · ${rows.length} shown`), h("span", { class: "live-tag" }, h("span", { class: "conn-dot" }), "live"), prev, next);
  }

  // -- the document drawer ---------------------------------------------------------------

  let drawer: HTMLElement | null = null;
  function closeDrawer(): void {
    drawer?.remove();
    drawer = null;
  }

  function openDrawer(doc: Record<string, Value> | null): void {
    closeDrawer();
    const isNew = doc === null;
    const text = isNew ? JSON.stringify(template(info.document) ?? {}, null, 2) : editable(doc as Value);
    const editor = h("textarea", { class: "editor", spellcheck: "false", "aria-label": "Document JSON", rows: 18 });
    editor.value = text;
    editor.addEventListener("input", () => error.classList.add("hidden"));
    const error = h("div", { class: "alert alert-error hidden", role: "alert" });
    const fail = (message: string) => {
      error.textContent = message;
      error.classList.remove("hidden");
    };
    const save = async () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(editor.value);
      } catch (e) {
        return fail(`Not valid JSON: ${(e as Error).message}`);
      }
      try {
        if (isNew) {
          const { id } = await app.session.post("/api/dashboard/documents/insert", { table: info.name, document: parsed });
          toast(`Inserted ${id}`);
        } else {
          await app.session.post("/api/dashboard/documents/replace", { id: doc!["_id"], document: parsed });
          toast("Document saved");
        }
        closeDrawer();
      } catch (e) {
        fail((e as Error).message);
      }
    };
    const remove = async () => {
      const id = String(doc!["_id"]);
      if (!(await confirmDialog("Delete this document?", `${id} will be deleted from ${info.name}. This cannot be undone.`))) return;
      try {
        await app.session.post("/api/dashboard/documents/delete", { ids: [id] });
        toast("Document deleted");
        closeDrawer();
      } catch (e) {
        fail((e as Error).message);
      }
    };
    const fieldsHint = schemaFields.length
      ? h("div", { class: "hint" }, "Fields: ", schemaFields.map((f, i) => [i ? ", " : "", h("code", `${f.name}${f.optional ? "?" : ""}`)]))
      : null;
    drawer = h(
      "div",
      { class: "drawer", role: "dialog", "aria-label": isNew ? "New document" : "Document" },
      h(
        "div",
        { class: "drawer-head" },
        h("div", h("div", { class: "drawer-kicker" }, info.name), h("h3", isNew ? "New document" : String(doc!["_id"]))),
        h("button", { class: "btn btn-ghost btn-icon", title: "Close", on: { click: closeDrawer } }, icon("x")),
      ),
      isNew ? null : h("div", { class: "meta" }, `Created ${dateTime(Number(doc!["_creationTime"]))}`),
      h("label", { class: "label" }, "Document (Convex JSON)"),
      editor,
      fieldsHint,
      h("div", { class: "hint" }, "Ctrl+Enter saves, Esc closes. The server validates against the schema; nothing is written unless it passes."),
      error,
      h(
        "div",
        { class: "drawer-actions" },
        isNew || info.system ? null : h("button", { class: "btn btn-danger-ghost", id: "delete-document", on: { click: remove } }, icon("trash"), "Delete"),
        h("span", { class: "spacer" }),
        h("button", { class: "btn", on: { click: closeDrawer } }, "Cancel"),
        info.system ? null : h("button", { class: "btn btn-primary", id: "save-document", on: { click: save } }, isNew ? "Insert" : "Save"),
      ),
    );
    if (info.system) editor.readOnly = true;
    drawer.addEventListener("keydown", (e: KeyboardEvent) => {
      if (e.key === "Escape") closeDrawer();
      if (e.key === "Enter" && (e.metaKey || e.ctrlKey) && !info.system) void save();
    });
    document.body.appendChild(drawer);
    editor.focus();
  }

  view.append(
    h(
      "div",
      { class: "view-head" },
      h("div", h("h3", { class: "view-title" }, info.name), countPill),
      h("span", { class: "spacer" }),
      deleteSelected,
      addButton,
    ),
    h(
      "div",
      { class: "toolbar" },
      icon("filter", "icon icon-muted"),
      indexSelect,
      filterInputs,
      h("button", { class: "btn btn-small", id: "apply-filter", on: { click: apply } }, "Apply"),
      h(
        "button",
        {
          class: "btn btn-small btn-ghost",
          on: {
            click: () => {
              for (const input of filterInputs.querySelectorAll("input")) input.value = "";
              apply();
            },
          },
        },
        "Clear",
      ),
      h("span", { class: "spacer" }),
      orderSelect,
    ),
    filterError,
    grid,
    pager,
  );
  renderFilterInputs();
  subscribe();
  return () => {
    unsubscribe?.();
    closeDrawer();
  };
}
