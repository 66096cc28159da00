// Schedules: scheduled jobs by state (live), with cancel; the crons and their next run.
import type { Value } from "../../../client-js/dist/index.js";
import type { Page } from "../app.js";
import { badge, clear, confirmDialog, dateTime, display, empty, h, relative, toast } from "../dom.js";
import { jsonToConvex } from "../../../client-js/dist/index.js";

const STATES = [
  { id: "pending", label: "Pending" },
  { id: "in_progress", label: "Running" },
  { id: "failed", label: "Failed" },
  { id: "success", label: "Succeeded" },
  { id: "canceled", label: "Canceled" },
];

type Job = Record<string, Value>;

export const schedulesPage: Page = (app, root, params) => {
  const state = STATES.find((s) => s.id === params[0])?.id ?? "pending";
  const tabs = h(
    "div",
    { class: "tabs", role: "tablist" },
    STATES.map((s) => h("a", { class: `tab${s.id === state ? " active" : ""}`, href: `#/schedules/${s.id}`, "data-state": s.id }, s.label)),
  );
  const body = h("div");
  const cronsBody = h("div");
  root.append(
    h("div", { class: "card" }, h("div", { class: "card-head" }, h("div", { class: "card-title" }, "Crons"), h("span", { class: "muted" }, "functions/crons.py")), cronsBody),
    h("div", { class: "card" }, h("div", { class: "card-head" }, h("div", { class: "card-title" }, "Scheduled functions"), h("span", { class: "live-tag" }, h("span", { class: "conn-dot" }), "live")), tabs, body),
  );

  const stop = app.session.watch<Job[]>(
    "_system/dashboard:jobs",
    { state },
    (jobs) => renderJobs(jobs),
    (e) => {
      clear(body);
      body.appendChild(h("div", { class: "alert alert-error" }, e.message));
    },
  );

  function renderJobs(jobs: Job[]): void {
    clear(body);
    if (jobs.length === 0) {
      body.appendChild(empty(`No ${STATES.find((s) => s.id === state)!.label.toLowerCase()} jobs`, "Jobs come from ctx.scheduler.run_after / run_at and from crons."));
      return;
    }
    const cancellable = state === "pending" || state === "in_progress";
    const finished = state !== "pending" && state !== "in_progress";
    body.appendChild(
      h(
        "table",
        { class: "grid grid-compact", id: "jobs" },
        h("thead", h("tr", ["Function", "Arguments", finished ? "Completed" : "Scheduled for", "Source", state === "failed" ? "Error" : "State", ""].map((c) => h("th", c)))),
        h(
          "tbody",
          jobs.map((job) => {
            const id = String(job["_id"]);
            const when = Number(finished ? job["completed_time"] ?? job["scheduled_time"] : job["scheduled_time"]);
            return h(
              "tr",
              { "data-id": id },
              h("td", { class: "mono" }, String(job["name"])),
              h("td", { class: "mono muted" }, display(job["args"])),
              h("td", { title: dateTime(when) }, dateTime(when), h("div", { class: "muted small" }, relative(when))),
              h("td", job["cron"] ? h("span", { class: "tag tag-flush" }, `cron: ${String(job["cron"])}`) : h("span", { class: "muted" }, "scheduler")),
              h("td", state === "failed" ? h("span", { class: "text-error" }, String(job["error"] ?? "failed")) : badge(String(job["state"]), String(job["state"]))),
              h(
                "td",
                { class: "actions" },
                cancellable
                  ? h(
                      "button",
                      {
                        class: "btn btn-small btn-danger-ghost",
                        on: {
                          click: async () => {
                            if (!(await confirmDialog("Cancel this job?", `${String(job["name"])} will not run.`, "Cancel job"))) return;
                            try {
                              await app.session.post("/api/dashboard/jobs/cancel", { id });
                              toast("Job canceled");
                            } catch (e) {
                              toast((e as Error).message, "error");
                            }
                          },
                        },
                      },
                      "Cancel",
                    )
                  : null,
              ),
            );
          }),
        ),
      ),
    );
  }

  const crons = app.overview.crons;
  const renderCrons = () => {
    clear(cronsBody);
    if (crons.length === 0) {
      cronsBody.appendChild(empty("No crons", "Define them in functions/crons.py with Crons()."));
      return;
    }
    cronsBody.appendChild(
      h(
        "table",
        { class: "grid grid-compact", id: "crons" },
        h("thead", h("tr", ["Name", "Function", "Schedule", "Arguments", "Next run"].map((c) => h("th", c)))),
        h(
          "tbody",
          crons.map((c) =>
            h(
              "tr",
              h("td", h("strong", c.name)),
              h("td", { class: "mono" }, c.function ?? "—"),
              h("td", h("code", c.schedule)),
              h("td", { class: "mono muted" }, c.args === null ? "—" : display(jsonToConvex(c.args))),
              h("td", c.nextRun ? [dateTime(c.nextRun), h("div", { class: "muted small" }, relative(c.nextRun))] : "—"),
            ),
          ),
        ),
      ),
    );
  };
  renderCrons();
  const ticker = setInterval(renderCrons, 5000);
  return () => {
    stop();
    clearInterval(ticker);
  };
};
