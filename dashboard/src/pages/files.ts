// Files: stored files (live), with download links and delete.
import type { Value } from "../../../client-js/dist/index.js";
import type { Page } from "../app.js";
import { bytes, clear, confirmDialog, dateTime, empty, h, icon, relative, toast } from "../dom.js";

interface FilesPage {
  page: Record<string, Value>[];
  isDone: boolean;
  continueCursor: string;
}

function storageName(backend: string | null): string {
  if (backend === null) return "no file storage";
  const names: Record<string, string> = { LocalBackend: "stored on the server's disk", S3Backend: "stored in S3" };
  return names[backend] ?? backend;
}

export const filesPage: Page = (app, root) => {
  const body = h("div");
  let cursors: (string | null)[] = [null];
  let pageNumber = 0;
  const pager = h("div", { class: "pager" });
  root.append(
    h(
      "div",
      { class: "card" },
      h("div", { class: "card-head" }, h("div", { class: "card-title" }, "Stored files"), h("span", { class: "muted" }, storageName(app.overview.storage)), h("span", { class: "live-tag" }, h("span", { class: "conn-dot" }), "live")),
      body,
      pager,
    ),
  );
  let stop: (() => void) | null = null;
  const subscribe = () => {
    stop?.();
    const args: Record<string, Value> = { num_items: 50 };
    if (cursors[pageNumber]) args["cursor"] = cursors[pageNumber]!;
    stop = app.session.watch<FilesPage>("_system/dashboard:files", args, render, (e) => {
      clear(body);
      body.appendChild(h("div", { class: "alert alert-error" }, e.message));
    });
  };

  function render(result: FilesPage): void {
    clear(body);
    clear(pager);
    if (result.page.length === 0) {
      body.appendChild(empty("No files stored", "Actions store files with ctx.storage.store(); clients upload through generate_upload_url()."));
      return;
    }
    body.appendChild(
      h(
        "table",
        { class: "grid grid-compact", id: "files" },
        h("thead", h("tr", ["Storage id", "Content type", "Size", "SHA-256", "Uploaded", ""].map((c) => h("th", c)))),
        h(
          "tbody",
          result.page.map((f) => {
            const id = String(f["_id"]);
            const created = Number(f["_creationTime"]);
            return h(
              "tr",
              { "data-id": id },
              h("td", { class: "cell-id" }, id),
              h("td", h("span", { class: "tag tag-flush" }, String(f["content_type"] ?? ""))),
              h("td", { class: "num" }, bytes(Number(f["size"] ?? 0))),
              h("td", { class: "mono muted", title: String(f["sha256"] ?? "") }, String(f["sha256"] ?? "").slice(0, 12) + "…"),
              h("td", { title: dateTime(created) }, relative(created)),
              h(
                "td",
                { class: "actions" },
                f["url"] ? h("a", { class: "btn btn-small", href: String(f["url"]), target: "_blank", rel: "noopener" }, icon("download"), "Download") : null,
                h(
                  "button",
                  {
                    class: "btn btn-small btn-danger-ghost",
                    on: {
                      click: async () => {
                        if (!(await confirmDialog("Delete this file?", `${id} and its contents will be deleted.`))) return;
                        try {
                          await app.session.post("/api/dashboard/files/delete", { id });
                          toast("File deleted");
                        } catch (e) {
                          toast((e as Error).message, "error");
                        }
                      },
                    },
                  },
                  icon("trash"),
                ),
              ),
            );
          }),
        ),
      ),
    );
    if (pageNumber > 0 || !result.isDone) {
      pager.append(
        h("span", { class: "muted" }, `Page ${pageNumber + 1}`),
        h("button", { class: "btn btn-small", disabled: pageNumber === 0, on: { click: () => { pageNumber -= 1; subscribe(); } } }, "Previous"),
        h("button", { class: "btn btn-small", disabled: result.isDone, on: { click: () => { cursors[pageNumber + 1] = result.continueCursor; pageNumber += 1; subscribe(); } } }, "Next"),
      );
    }
  }
  subscribe();
  return () => stop?.();
};
