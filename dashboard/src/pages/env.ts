// Environment variables (what actions read as ctx.env): values hidden until revealed.
import type { Page } from "../app.js";
import { clear, confirmDialog, empty, h, icon, toast } from "../dom.js";

export const envPage: Page = (app, root) => {
  const body = h("div");
  const name = h("input", { class: "input mono", placeholder: "NAME", "aria-label": "Variable name", id: "env-name", spellcheck: "false" });
  const value = h("input", { class: "input mono", placeholder: "value", "aria-label": "Variable value", id: "env-value", type: "password", spellcheck: "false" });
  const error = h("div", { class: "form-error", role: "alert" });
  const revealed = new Set<string>();
  let env: Record<string, string> = {};

  const save = async (n: string, v: string) => {
    error.textContent = "";
    try {
      const { existed } = await app.session.post("/api/admin/env/set", { name: n, value: v });
      toast(existed ? `${n} updated` : `${n} added`);
      await load();
      return true;
    } catch (e) {
      error.textContent = (e as Error).message;
      return false;
    }
  };

  root.append(
    h(
      "div",
      { class: "card" },
      h("div", { class: "card-head" }, h("div", { class: "card-title" }, "Environment variables"), h("span", { class: "muted" }, "read by actions as ctx.env")),
      body,
    ),
    h(
      "form",
      {
        class: "card",
        on: {
          submit: async (e: Event) => {
            e.preventDefault();
            if (await save(name.value.trim(), value.value)) {
              name.value = "";
              value.value = "";
            }
          },
        },
      },
      h("div", { class: "card-title" }, "Add or update a variable"),
      h("div", { class: "row" }, name, value, h("button", { class: "btn btn-primary", type: "submit", id: "env-save" }, icon("plus"), "Save")),
      error,
      h("div", { class: "hint" }, "Names use letters, digits and _, at most 40 characters; values at most 8 KiB."),
    ),
  );

  function render(): void {
    clear(body);
    const names = Object.keys(env).sort();
    if (names.length === 0) {
      body.appendChild(empty("No environment variables", "Set API keys and settings here or with reactor env set."));
      return;
    }
    body.appendChild(
      h(
        "table",
        { class: "grid grid-compact", id: "env" },
        h("thead", h("tr", h("th", "Name"), h("th", "Value"), h("th", ""))),
        h(
          "tbody",
          names.map((n) => {
            const shown = revealed.has(n);
            return h(
              "tr",
              { "data-name": n },
              h("td", { class: "mono" }, h("strong", n)),
              h("td", { class: `mono env-value${shown ? "" : " masked"}` }, shown ? env[n]! : "••••••••••••"),
              h(
                "td",
                { class: "actions" },
                h(
                  "button",
                  {
                    class: "btn btn-small btn-ghost",
                    title: shown ? "Hide" : "Reveal",
                    "data-action": "reveal",
                    on: {
                      click: () => {
                        if (shown) revealed.delete(n);
                        else revealed.add(n);
                        render();
                      },
                    },
                  },
                  icon(shown ? "eyeOff" : "eye"),
                  shown ? "Hide" : "Reveal",
                ),
                h(
                  "button",
                  {
                    class: "btn btn-small btn-ghost",
                    title: "Edit",
                    on: {
                      click: () => {
                        name.value = n;
                        value.value = env[n]!;
                        value.focus();
                      },
                    },
                  },
                  icon("edit"),
                ),
                h(
                  "button",
                  {
                    class: "btn btn-small btn-danger-ghost",
                    title: "Remove",
                    on: {
                      click: async () => {
                        if (!(await confirmDialog(`Remove ${n}?`, "Actions will no longer see this variable.", "Remove"))) return;
                        try {
                          await app.session.post("/api/admin/env/unset", { name: n });
                          toast(`${n} removed`);
                          await load();
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
  }

  async function load(): Promise<void> {
    try {
      env = (await app.session.get("/api/admin/env")).env;
      render();
    } catch (e) {
      clear(body);
      body.appendChild(h("div", { class: "alert alert-error" }, (e as Error).message));
    }
  }
  void load();
};
