// Live: commits and calls per second, function timings, open subscriptions and a
// stream of log lines, polled from /api/dashboard/monitor once a second.
import type { Page } from "../app.js";
import { bars, sparkline } from "../charts.js";
import { badge, clear, clock, display, empty, h, icon, ms, relative } from "../dom.js";
import { jsonToConvex, type JSONValue } from "../../../client-js/dist/index.js";

interface Point {
  t: number;
  commits: number;
  calls: number;
  errors: number;
  avgMs: number;
  maxMs: number;
}
interface FunctionStats {
  path: string;
  kind: string;
  calls: number;
  errors: number;
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  recentMs: number[];
  lastRun: number;
}
interface Subscription {
  path: string;
  args: JSONValue;
  subscribers: number;
  executions: number;
  lastRun: number;
  identity: string | null;
  error: string | null;
  system: boolean;
  paginated: boolean;
}
interface LogLine {
  seq: number;
  time: number;
  path: string;
  kind: string;
  level: string;
  text: string;
}
interface Snapshot {
  now: number;
  series: Point[];
  totalCommits: number;
  functions: FunctionStats[];
  subscriptions: Subscription[];
  subscriptionCount: number;
  logs: LogLine[];
  nextSeq: number;
}

const MAX_SHOWN_LOGS = 500;

export const livePage: Page = (app, root) => {
  let since = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let paused = false;
  let showSystem = false;
  let last: Snapshot | null = null;

  const commitsCard = statCard("Commits / s", "commits");
  const callsCard = statCard("Function calls / s", "calls");
  const latencyCard = statCard("Average duration", "latency");
  const subsBody = h("div");
  const timingsBody = h("div");
  const logs = h("div", { class: "logs", id: "log-stream" });
  const filter = h("input", { class: "input input-small", placeholder: "Filter log lines", "aria-label": "Filter log lines" });
  const pauseButton = h("button", { class: "btn btn-small", on: { click: () => { paused = !paused; pauseButton.lastChild!.textContent = paused ? "Resume" : "Pause"; } } }, icon("pause"), "Pause");
  const systemToggle = h("input", { type: "checkbox", on: { change: () => { showSystem = systemToggle.checked; if (last) renderSubscriptions(last); } } });
  const error = h("div", { class: "alert alert-error hidden" });

  root.append(
    error,
    h("div", { class: "stats" }, commitsCard.el, callsCard.el, latencyCard.el),
    h(
      "div",
      { class: "card" },
      h("div", { class: "card-head" }, h("div", { class: "card-title" }, "Subscriptions"), h("span", { class: "spacer" }), h("label", { class: "check" }, systemToggle, "Show the dashboard's own")),
      subsBody,
    ),
    h("div", { class: "card" }, h("div", { class: "card-head" }, h("div", { class: "card-title" }, "Function timings"), h("span", { class: "muted" }, "last 256 calls each")), timingsBody),
    h(
      "div",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("div", { class: "card-title" }, "Logs"),
        h("span", { class: "live-tag" }, h("span", { class: "conn-dot" }), "streaming"),
        h("span", { class: "spacer" }),
        filter,
        pauseButton,
        h("button", { class: "btn btn-small btn-ghost", on: { click: () => clear(logs) } }, "Clear"),
      ),
      logs,
    ),
  );
  filter.addEventListener("input", () => {
    const needle = filter.value.toLowerCase();
    for (const line of logs.children) (line as HTMLElement).hidden = needle !== "" && !line.textContent!.toLowerCase().includes(needle);
  });

  function statCard(title: string, id: string) {
    const value = h("div", { class: "stat-value" }, "—");
    const sub = h("div", { class: "stat-sub" });
    const chart = h("div", { class: "stat-chart" });
    const axis = h("div", { class: "chart-labels" }, h("span", "60 s ago"), h("span", "now"));
    const el = h("div", { class: "card stat", id: `stat-${id}` }, h("div", { class: "stat-title" }, title), value, sub, chart, axis);
    return { el, value, sub, chart };
  }

  function renderStats(s: Snapshot): void {
    const series = s.series;
    const recent = series.slice(-10);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const label = (i: number, what: string, n: number) => `${clock(series[i]!.t).slice(0, 8)} · ${n} ${what}`;
    commitsCard.value.textContent = (sum(recent.map((p) => p.commits)) / recent.length).toFixed(1);
    commitsCard.sub.textContent = `${s.totalCommits.toLocaleString()} commits since the server started`;
    clear(commitsCard.chart);
    commitsCard.chart.appendChild(bars(series.map((p) => p.commits), { title: (i) => label(i, "commits", series[i]!.commits) }));
    callsCard.value.textContent = (sum(recent.map((p) => p.calls)) / recent.length).toFixed(1);
    const errors = sum(series.map((p) => p.errors));
    callsCard.sub.textContent = `${sum(series.map((p) => p.calls)).toLocaleString()} calls in the last minute · ${errors} failed`;
    clear(callsCard.chart);
    callsCard.chart.appendChild(bars(series.map((p) => p.calls), { errors: series.map((p) => p.errors), title: (i) => label(i, "calls", series[i]!.calls) }));
    const active = series.filter((p) => p.calls > 0);
    const avg = active.length ? sum(active.map((p) => p.avgMs * p.calls)) / sum(active.map((p) => p.calls)) : 0;
    latencyCard.value.textContent = active.length ? ms(avg) : "—";
    latencyCard.sub.textContent = `slowest in the last minute: ${ms(Math.max(0, ...series.map((p) => p.maxMs)))}`;
    clear(latencyCard.chart);
    latencyCard.chart.appendChild(sparkline(series.map((p) => p.avgMs)));
  }

  function renderSubscriptions(s: Snapshot): void {
    clear(subsBody);
    const subs = s.subscriptions.filter((x) => showSystem || !x.system);
    if (subs.length === 0) {
      subsBody.appendChild(empty("No open subscriptions", "Clients subscribed to queries appear here."));
      return;
    }
    if (s.subscriptionCount > s.subscriptions.length) {
      subsBody.appendChild(h("div", { class: "hint" }, `The ${s.subscriptions.length} most subscribed of ${s.subscriptionCount.toLocaleString()} live queries.`));
    }
    subsBody.appendChild(
      h(
        "table",
        { class: "grid grid-compact", id: "subscriptions" },
        h("thead", h("tr", ["Query", "Arguments", "Subscribers", "Executions", "Last run", "Status"].map((c) => h("th", c)))),
        h(
          "tbody",
          subs.map((x) =>
            h(
              "tr",
              h("td", { class: "mono" }, x.path, x.paginated ? h("span", { class: "tag" }, "paginated") : null),
              h("td", { class: "mono muted" }, x.args === null ? "—" : display(jsonToConvex(x.args))),
              h("td", { class: "num" }, String(x.subscribers)),
              h("td", { class: "num" }, x.executions.toLocaleString()),
              h("td", relative(x.lastRun, s.now)),
              h("td", x.error ? h("span", { class: "badge badge-error", title: x.error }, "error") : badge("ok", "ok")),
            ),
          ),
        ),
      ),
    );
  }

  function renderTimings(s: Snapshot): void {
    clear(timingsBody);
    if (s.functions.length === 0) {
      timingsBody.appendChild(empty("No function has run yet", "Calls from clients, the scheduler and this dashboard show up here."));
      return;
    }
    timingsBody.appendChild(
      h(
        "table",
        { class: "grid grid-compact", id: "timings" },
        h("thead", h("tr", ["Function", "Calls", "Errors", "p50", "p95", "Max", "Recent", "Last call"].map((c) => h("th", c)))),
        h(
          "tbody",
          s.functions.map((f) =>
            h(
              "tr",
              h("td", { class: "mono" }, h("span", { class: `kind kind-${f.kind}` }, f.kind[0]!.toUpperCase()), " ", f.path),
              h("td", { class: "num" }, f.calls.toLocaleString()),
              h("td", { class: `num${f.errors ? " text-error" : ""}` }, String(f.errors)),
              h("td", { class: "num" }, ms(f.p50Ms)),
              h("td", { class: "num" }, ms(f.p95Ms)),
              h("td", { class: "num" }, ms(f.maxMs)),
              h("td", { class: "spark-cell" }, sparkline(f.recentMs, { height: 22, width: 120 })),
              h("td", relative(f.lastRun, s.now)),
            ),
          ),
        ),
      ),
    );
  }

  function appendLogs(lines: LogLine[]): void {
    if (paused) return;
    const needle = filter.value.toLowerCase();
    const stick = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    for (const line of lines) {
      const el = h(
        "div",
        { class: `log-line log-${line.level}` },
        h("span", { class: "log-time" }, clock(line.time)),
        h("span", { class: `kind kind-${line.kind}` }, line.kind[0]!.toUpperCase()),
        h("span", { class: "log-path" }, line.path),
        h("span", { class: "log-text" }, line.text),
      );
      el.hidden = needle !== "" && !el.textContent!.toLowerCase().includes(needle);
      logs.appendChild(el);
    }
    while (logs.children.length > MAX_SHOWN_LOGS) logs.firstChild!.remove();
    if (stick) logs.scrollTop = logs.scrollHeight;
  }

  async function poll(): Promise<void> {
    try {
      const s = (await app.session.get(`/api/dashboard/monitor?since=${since}`)) as Snapshot;
      if (stopped) return;
      error.classList.add("hidden");
      last = s;
      renderStats(s);
      renderSubscriptions(s);
      renderTimings(s);
      if (!paused) {
        appendLogs(s.logs);
        since = s.nextSeq;
      }
    } catch (e) {
      error.textContent = (e as Error).message;
      error.classList.remove("hidden");
    }
    if (!stopped) timer = setTimeout(poll, 1000);
  }
  void poll();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
  };
};
