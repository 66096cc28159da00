// The dashboard: sign-in, the shell (sidebar, header) and a hash router over the pages.
import { ApiError, Session, forgetKey, savedKey, type Overview } from "./api.js";
import type { App, Page } from "./app.js";
import { clear, h, icon } from "./dom.js";
import { dataPage } from "./pages/data.js";
import { envPage } from "./pages/env.js";
import { filesPage } from "./pages/files.js";
import { functionsPage } from "./pages/functions.js";
import { livePage } from "./pages/live.js";
import { schedulesPage } from "./pages/schedules.js";
import { schemaPage } from "./pages/schema.js";

const PAGES: { id: string; label: string; icon: string; page: Page }[] = [
  { id: "data", label: "Data", icon: "data", page: dataPage },
  { id: "functions", label: "Functions", icon: "functions", page: functionsPage },
  { id: "live", label: "Live", icon: "live", page: livePage },
  { id: "schedules", label: "Schedules", icon: "schedules", page: schedulesPage },
  { id: "files", label: "Files", icon: "files", page: filesPage },
  { id: "env", label: "Environment", icon: "env", page: envPage },
  { id: "schema", label: "Schema", icon: "schema", page: schemaPage },
];

const root = document.getElementById("app")!;

function databaseName(persistence: string): string {
  const names: Record<string, string> = { SqlitePersistence: "SQLite", PostgresPersistence: "PostgreSQL" };
  return names[persistence] ?? persistence.replace(/Persistence$/, "");
}

function logo(): HTMLElement {
  return h("div", { class: "logo" }, h("span", { class: "logo-mark" }), h("span", { class: "logo-text" }, "reactor"));
}

function signIn(message?: string): void {
  clear(root);
  const input = h("input", {
    type: "password",
    class: "input",
    id: "admin-key",
    name: "admin-key",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "Admin key",
    "aria-label": "Admin key",
  });
  const error = h("div", { class: "form-error", role: "alert" }, message ?? "");
  const button = h("button", { class: "btn btn-primary btn-block", type: "submit" }, "Open dashboard");
  const form = h(
    "form",
    {
      class: "signin-card",
      on: {
        submit: async (event: Event) => {
          event.preventDefault();
          const key = input.value.trim();
          if (!key) {
            error.textContent = "Enter the deployment's admin key.";
            return;
          }
          button.disabled = true;
          error.textContent = "";
          try {
            const { session, overview } = await Session.signIn(key);
            start(session, overview);
          } catch (e) {
            button.disabled = false;
            error.textContent =
              e instanceof ApiError && e.status === 401 ? "That admin key is not valid for this deployment." : (e as Error).message;
            input.select();
          }
        },
      },
    },
    logo(),
    h("h1", "Sign in to the dashboard"),
    h(
      "p",
      { class: "muted" },
      "Enter the admin key of this deployment. ",
      h("code", "reactor dev"),
      " prints it on first start and keeps it in ",
      h("code", ".reactor/admin_key"),
      ". It stays in this browser tab only.",
    ),
    input,
    error,
    button,
  );
  root.appendChild(h("div", { class: "signin" }, form));
  input.focus();
}

function start(session: Session, overview: Overview): void {
  clear(root);
  let stop: (() => void) | void = undefined;
  const status = h("span", { class: "conn conn-wait" }, h("span", { class: "conn-dot" }), h("span", { class: "conn-text" }, "Connecting"));
  const nav = h("nav", { class: "nav" });
  const title = h("h2", { class: "page-title" });
  const main = h("main", { class: "content" });
  const app: App = {
    session,
    overview,
    refresh: async () => {
      app.overview = await session.overview();
      deployment.textContent = app.overview.deployment.project;
      return app.overview;
    },
    navigate: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
  };
  const deployment = h("div", { class: "deployment-name" }, overview.deployment.project);
  const signOut = h(
    "button",
    {
      class: "btn btn-ghost btn-small",
      title: "Forget the admin key in this tab",
      on: {
        click: async () => {
          forgetKey();
          if (typeof stop === "function") stop();
          window.removeEventListener("hashchange", route);
          await session.close();
          location.hash = "";
          signIn();
        },
      },
    },
    icon("logout"),
    "Sign out",
  );
  for (const p of PAGES) {
    nav.appendChild(h("a", { href: `#/${p.id}`, class: "nav-item", "data-page": p.id }, icon(p.icon), h("span", p.label)));
  }
  root.appendChild(
    h(
      "div",
      { class: "shell" },
      h(
        "aside",
        { class: "sidebar" },
        logo(),
        h("div", { class: "deployment" }, h("div", { class: "deployment-label" }, "Deployment"), deployment, h("div", { class: "deployment-db" }, databaseName(overview.deployment.database))),
        nav,
        h("div", { class: "sidebar-foot" }, signOut),
      ),
      h("div", { class: "main" }, h("header", { class: "topbar" }, title, status), main),
    ),
  );
  session.client.subscribeToConnectionState((state) => {
    status.className = `conn ${state.isWebSocketConnected ? "conn-ok" : "conn-wait"}`;
    status.querySelector(".conn-text")!.textContent = state.isWebSocketConnected ? "Live" : "Reconnecting";
  });

  function route(): void {
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    const found = PAGES.find((p) => p.id === parts[0]) ?? PAGES[0]!;
    if (typeof stop === "function") stop();
    clear(main);
    title.textContent = found.label;
    for (const item of nav.querySelectorAll(".nav-item")) item.classList.toggle("active", item.getAttribute("data-page") === found.id);
    try {
      stop = found.page(app, main, parts.slice(1));
    } catch (e) {
      main.appendChild(h("div", { class: "alert alert-error" }, (e as Error).message));
    }
  }
  window.addEventListener("hashchange", route);
  route();
}

async function boot(): Promise<void> {
  const key = savedKey();
  if (key === null) return signIn();
  try {
    const { session, overview } = await Session.signIn(key);
    start(session, overview);
  } catch (e) {
    forgetKey();
    signIn(e instanceof ApiError && e.status === 401 ? "The saved admin key is no longer valid." : (e as Error).message);
  }
}

void boot();
