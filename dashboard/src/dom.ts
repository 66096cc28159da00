// Small DOM helpers: element construction, icons, toasts, a confirm dialog, formatting.
import { convexToJson, type Value } from "../../client-js/dist/index.js";

export type Child = Node | string | number | null | undefined | false | Child[];
type Handler = (event: any) => void;
export interface Props {
  class?: string;
  on?: Record<string, Handler>;
  title?: string;
  [attr: string]: unknown;
}

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

/** `h("div", {class: "x", on: {click}}, ...children)`; props may be omitted. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | Child,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props !== null && typeof props === "object" && !(props instanceof Node) && !Array.isArray(props)) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "on") {
        for (const [name, fn] of Object.entries(value as Record<string, Handler>)) el.addEventListener(name, fn);
      } else if (key === "class") {
        el.className = String(value);
      } else if (key === "value" && "value" in el) {
        (el as HTMLInputElement).value = String(value);
      } else if (key === "checked" && "checked" in el) {
        (el as HTMLInputElement).checked = Boolean(value);
      } else {
        el.setAttribute(key, value === true ? "" : String(value));
      }
    }
  } else {
    append(el, props as Child);
  }
  append(el, children);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

// -- icons (24x24 stroke paths) --------------------------------------------------------

const ICONS: Record<string, string> = {
  data: "M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3Zm0 0v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3",
  functions: "M8 4H7a2 2 0 0 0-2 2v4l-2 2 2 2v4a2 2 0 0 0 2 2h1M16 4h1a2 2 0 0 1 2 2v4l2 2-2 2v4a2 2 0 0 1-2 2h-1",
  live: "M3 12h4l3-8 4 16 3-8h4",
  schedules: "M12 7v5l3 2M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0Z",
  files: "M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8l-5-5Zm0 0v5h5",
  env: "M15 7a2 2 0 0 1 2 2m4 0a6 6 0 0 1-7.7 5.7L11 17H9v2H7v2H3v-4l6.3-6.3A6 6 0 1 1 21 9Z",
  schema: "M4 5h16M4 12h16M4 19h10",
  plus: "M12 5v14M5 12h14",
  trash: "M4 7h16M10 11v6M14 11v6M5 7l1 13h12l1-13M9 7V4h6v3",
  eye: "M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12Zm10 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6Z",
  eyeOff: "M3 3l18 18M10.6 10.6a2 2 0 0 0 2.8 2.8M9.9 5.1A10 10 0 0 1 12 5c6.4 0 10 7 10 7a17 17 0 0 1-3.2 4M6.6 6.6C3.9 8.4 2 12 2 12s3.6 7 10 7a9.7 9.7 0 0 0 5.4-1.6",
  play: "M7 4v16l13-8L7 4Z",
  x: "M6 6l12 12M18 6 6 18",
  search: "M21 21l-4.3-4.3M11 18a7 7 0 1 1 0-14 7 7 0 0 1 0 14Z",
  chevronLeft: "M15 18l-6-6 6-6",
  chevronRight: "M9 18l6-6-6-6",
  logout: "M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9",
  download: "M12 3v12m0 0-4-4m4 4 4-4M4 17v2a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-2",
  filter: "M3 5h18l-7 8v6l-4 2v-8L3 5Z",
  pause: "M8 5v14M16 5v14",
  edit: "M4 20h4L19 9l-4-4L4 16v4ZM14 6l4 4",
};

export function icon(name: string, cls = "icon"): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name] ?? "");
  svg.appendChild(path);
  return svg;
}

// -- toasts and dialogs ----------------------------------------------------------------

export function toast(message: string, kind: "ok" | "error" = "ok"): void {
  let host = document.querySelector(".toasts");
  if (!host) {
    host = h("div", { class: "toasts", role: "status" });
    document.body.appendChild(host);
  }
  const item = h("div", { class: `toast toast-${kind}` }, message);
  host.appendChild(item);
  setTimeout(() => item.classList.add("leaving"), 3200);
  setTimeout(() => item.remove(), 3600);
}

/** A modal confirmation; resolves true when confirmed. */
export function confirmDialog(title: string, body: string, action = "Delete"): Promise<boolean> {
  return new Promise((resolve) => {
    const close = (answer: boolean) => {
      overlay.remove();
      resolve(answer);
    };
    const ok = h("button", { class: "btn btn-danger", on: { click: () => close(true) } }, action);
    const overlay = h(
      "div",
      { class: "overlay", on: { click: (e: Event) => e.target === overlay && close(false) } },
      h(
        "div",
        { class: "dialog", role: "dialog", "aria-modal": "true" },
        h("h3", title),
        h("p", body),
        h(
          "div",
          { class: "dialog-actions" },
          h("button", { class: "btn", on: { click: () => close(false) } }, "Cancel"),
          ok,
        ),
      ),
    );
    document.body.appendChild(overlay);
    ok.focus();
  });
}

// -- formatting ------------------------------------------------------------------------

/** A value as one short line of text for tables. */
export function short(value: Value | undefined, max = 80): string {
  const text = display(value);
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

export function display(value: Value | undefined): string {
  if (value === undefined) return "";
  if (value === null) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value instanceof ArrayBuffer) return `bytes(${value.byteLength})`;
  return JSON.stringify(value, (_k, v) =>
    typeof v === "bigint" ? `${v}n` : v instanceof ArrayBuffer ? `bytes(${v.byteLength})` : v,
  );
}

/** A value as lossless Convex JSON text (what the editors show and send). */
export function editable(value: Value): string {
  return JSON.stringify(convexToJson(value), null, 2);
}

export function pretty(value: Value | undefined): string {
  if (value === undefined) return "";
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof ArrayBuffer ? `bytes(${v.byteLength})` : v),
    2,
  );
}

export function typeClass(value: Value | undefined): string {
  if (value === null || value === undefined) return "v-null";
  if (typeof value === "string") return "v-string";
  if (typeof value === "number" || typeof value === "bigint") return "v-number";
  if (typeof value === "boolean") return "v-bool";
  return "v-object";
}

export function relative(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined || !ms) return "—";
  const diff = (ms - now) / 1000;
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 1) return "now";
  if (abs < 60) text = `${Math.round(abs)} s`;
  else if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86400) text = `${(abs / 3600).toFixed(abs < 36000 ? 1 : 0)} h`;
  else text = `${Math.round(abs / 86400)} d`;
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

export function clock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function dateTime(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function ms(n: number): string {
  if (n < 1) return `${(n * 1000).toFixed(0)} µs`;
  if (n < 100) return `${n.toFixed(1)} ms`;
  return `${n.toFixed(0)} ms`;
}

/** An empty-state block. */
export function empty(title: string, hint?: string): HTMLElement {
  return h("div", { class: "empty" }, h("div", { class: "empty-title" }, title), hint ? h("div", { class: "empty-hint" }, hint) : null);
}

export function badge(text: string, kind: string): HTMLElement {
  return h("span", { class: `badge badge-${kind}` }, text);
}
