// Functions: every registered function with its kind and argument validator, and a form
// that runs it as admin (internal ones too), showing the result and its log lines.
import type { Value } from "../../../client-js/dist/index.js";
import type { FunctionInfo } from "../api.js";
import type { Page } from "../app.js";
import { badge, clear, clock, empty, h, icon, ms, pretty } from "../dom.js";

const clockTime = (at: number) => clock(at).slice(0, 8);
import { fieldsOf, isText, template, typeText } from "../validators.js";

const KIND_LETTER: Record<string, string> = { query: "Q", mutation: "M", action: "A" };
const MAX_HISTORY = 10;

/** Runs from this page, per function, newest first (kept while the tab is open). */
const history = new Map<string, { at: number; inputs: Record<string, string>; ok: boolean; durationMs: number }[]>();

export const functionsPage: Page = (app, root, params) => {
  const functions = app.overview.functions;
  const list = h("div", { class: "fn-list" });
  const detail = h("section", { class: "fn-detail" });
  const search = h("input", { class: "input", placeholder: "Search functions", "aria-label": "Search functions", on: { input: () => renderList() } });
  root.appendChild(h("div", { class: "split" }, h("aside", { class: "subnav" }, h("div", { class: "search" }, icon("search", "icon icon-muted"), search), list), detail));
  const selected = params.join("/") || functions[0]?.path;

  function renderList(): void {
    clear(list);
    const needle = search.value.toLowerCase();
    const modules = new Map<string, FunctionInfo[]>();
    for (const fn of functions) {
      if (needle && !fn.path.toLowerCase().includes(needle)) continue;
      const module = fn.path.split(":")[0]!;
      if (!modules.has(module)) modules.set(module, []);
      modules.get(module)!.push(fn);
    }
    for (const [module, fns] of modules) {
      list.appendChild(h("div", { class: "subnav-label" }, `${module}.py`));
      for (const fn of fns) {
        list.appendChild(
          h(
            "a",
            { class: `subnav-item${fn.path === selected ? " active" : ""}`, href: `#/functions/${fn.path}`, "data-function": fn.path },
            h("span", { class: `kind kind-${fn.kind}`, title: fn.kind }, KIND_LETTER[fn.kind]),
            h("span", { class: "subnav-name" }, fn.path.split(":")[1]),
            fn.internal ? h("span", { class: "tag" }, "internal") : null,
          ),
        );
      }
    }
    if (!list.firstChild) list.appendChild(h("div", { class: "muted pad" }, "No function matches."));
  }
  renderList();

  const fn = functions.find((f) => f.path === selected);
  if (!fn) {
    detail.appendChild(empty("No functions", "Add queries, mutations and actions under functions/."));
    return;
  }
  renderDetail(fn);
  // The project may have been reloaded (reactor dev) since the overview was read.
  let active = true;
  void app.refresh().then((overview) => {
    if (active && JSON.stringify(overview.functions) !== JSON.stringify(functions)) app.navigate(location.hash);
  }, () => undefined);
  return () => {
    active = false;
  };

  function renderDetail(fn: FunctionInfo): void {
    const fields = fieldsOf(fn.args);
    const inputs = new Map<string, HTMLInputElement | HTMLTextAreaElement>();
    const form = h("div", { class: "form" });
    let rawArgs: HTMLTextAreaElement | null = null;
    if (fn.args === null) {
      rawArgs = h("textarea", { class: "editor editor-small", "aria-label": "Arguments (JSON)", spellcheck: "false" });
      rawArgs.value = "{}";
      form.appendChild(h("label", { class: "label" }, "Arguments (JSON object, not validated)"));
      form.appendChild(rawArgs);
    } else if (fields.length === 0) {
      form.appendChild(h("div", { class: "muted" }, "This function takes no arguments."));
    }
    for (const field of fields) {
      const text = isText(field.type);
      const input = h("input", {
        class: "input mono",
        name: field.name,
        "data-arg": field.name,
        placeholder: field.optional ? "optional" : text ? "text" : "JSON value",
        spellcheck: "false",
      });
      if (!text && !field.optional) input.value = JSON.stringify(template(field.type));
      inputs.set(field.name, input);
      form.appendChild(
        h(
          "div",
          { class: "field" },
          h("label", { class: "label" }, h("span", { class: "mono" }, field.name), field.optional ? h("span", { class: "muted" }, " optional") : null, h("span", { class: "type" }, typeText(field.type))),
          input,
        ),
      );
    }
    const output = h("div", { class: "run-output" });
    form.addEventListener("keydown", (e: KeyboardEvent) => {
      if (e.key === "Enter" && (e.metaKey || e.ctrlKey || e.target instanceof HTMLInputElement)) {
        e.preventDefault();
        void run();
      }
    });
    const runButton = h("button", { class: "btn btn-primary", id: "run-function", on: { click: () => run() } }, icon("play"), `Run ${fn.kind}`);

    async function run(): Promise<void> {
      let args: Record<string, Value> = {};
      try {
        if (rawArgs !== null) {
          const parsed = JSON.parse(rawArgs.value || "{}");
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("the arguments must be a JSON object");
          args = parsed;
        }
        for (const field of fields) {
          const text = inputs.get(field.name)!.value;
          if (text === "" && field.optional) continue;
          if (isText(field.type)) args[field.name] = text;
          else {
            try {
              args[field.name] = JSON.parse(text);
            } catch {
              throw new Error(`${field.name}: not a JSON value (strings need quotes here)`);
            }
          }
        }
      } catch (e) {
        showOutput(false, (e as Error).message, [], null);
        return;
      }
      runButton.disabled = true;
      try {
        const result = await app.session.run(fn.path, args);
        showOutput(result.ok, result.ok ? pretty(result.value) : result.error!, result.logLines, result.durationMs);
        const inputsNow: Record<string, string> = {};
        for (const [name, input] of inputs) inputsNow[name] = input.value;
        if (rawArgs !== null) inputsNow[""] = rawArgs.value;
        const runs = history.get(fn.path) ?? [];
        runs.unshift({ at: Date.now(), inputs: inputsNow, ok: result.ok, durationMs: result.durationMs });
        history.set(fn.path, runs.slice(0, MAX_HISTORY));
        renderHistory();
      } catch (e) {
        showOutput(false, (e as Error).message, [], null);
      } finally {
        runButton.disabled = false;
      }
    }

    const historyBox = h("div", { class: "history" });
    function renderHistory(): void {
      clear(historyBox);
      const runs = history.get(fn.path) ?? [];
      if (runs.length === 0) return;
      historyBox.append(
        h("div", { class: "label" }, "Earlier runs in this tab"),
        h(
          "div",
          { class: "history-list" },
          runs.map((r) =>
            h(
              "button",
              {
                class: "history-item",
                title: "Fill the form with these arguments",
                on: {
                  click: () => {
                    for (const [name, input] of inputs) input.value = r.inputs[name] ?? "";
                    if (rawArgs !== null) rawArgs.value = r.inputs[""] ?? "{}";
                  },
                },
              },
              badge(r.ok ? "ok" : "error", r.ok ? "ok" : "error"),
              h("span", { class: "mono history-args" }, Object.entries(r.inputs).filter(([, v]) => v !== "").map(([k, v]) => (k ? `${k}=${v}` : v)).join("  ") || "no arguments"),
              h("span", { class: "muted" }, `${clockTime(r.at)} · ${ms(r.durationMs)}`),
            ),
          ),
        ),
      );
    }
    renderHistory();

    function showOutput(ok: boolean, text: string, logs: string[], duration: number | null): void {
      clear(output);
      output.append(
        h(
          "div",
          { class: "run-head" },
          badge(ok ? "Success" : "Error", ok ? "ok" : "error"),
          duration !== null ? h("span", { class: "muted" }, ms(duration)) : null,
        ),
        h("pre", { class: `code${ok ? "" : " code-error"}`, "data-result": ok ? "success" : "error" }, text),
        h("div", { class: "label" }, `Log lines (${logs.length})`),
        logs.length
          ? h("div", { class: "logs logs-static" }, logs.map((line) => {
              // The HTTP API tags lines as Convex does ("[LOG] text"); show the tag apart.
              const tagged = /^\[(LOG|INFO|WARN|ERROR|DEBUG)\] ([\s\S]*)$/.exec(line);
              const level = tagged ? tagged[1]! : "LOG";
              return h(
                "div",
                { class: `log-line${level === "ERROR" || level === "WARN" ? " log-error" : ""}` },
                h("span", { class: "log-level" }, level.toLowerCase()),
                h("span", { class: "log-text" }, tagged ? tagged[2]! : line),
              );
            }))
          : h("div", { class: "muted" }, "Nothing printed."),
      );
    }

    detail.appendChild(
      h(
        "div",
        { class: "fn-body" },
      h(
        "div",
        { class: "view-head" },
        h(
          "div",
          h("div", { class: "drawer-kicker" }, `${fn.path.split(":")[0]}.py`),
          h("h3", { class: "view-title mono" }, fn.path),
        ),
        h("span", { class: "spacer" }),
        badge(fn.kind, fn.kind),
        fn.internal ? badge("internal", "muted") : badge("public", "outline"),
      ),
      fn.doc ? h("p", { class: "doc" }, fn.doc) : null,
      h(
        "div",
        { class: "signature" },
        h("span", { class: "muted" }, "args "),
        h("code", fn.args ? typeText(fn.args) : "any"),
        fn.returns ? [h("span", { class: "muted" }, "  returns "), h("code", typeText(fn.returns))] : null,
      ),
      h("div", { class: "card" }, h("div", { class: "card-title" }, "Run as admin"), form, h("div", { class: "form-actions" }, runButton)),
      output,
      historyBox,
      ),
    );
  }
};
