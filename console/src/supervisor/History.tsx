/** History (`data-testid=history`): a date range drives `dashboard:history`; charts and the agent leaderboard. */
import { useRef, useState } from "react";
import type { Person } from "../agent/context.js";
import { api, type DayMetrics } from "../model.js";
import { formatPercent, formatSeconds, utcDay } from "../time.js";
import { Panel } from "../ui/common.js";
import { useLive } from "../ui/live.js";
import { LineChart, StackedBars } from "./charts.js";

const round = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? null : Number(v.toFixed(digits)));

export function History() {
  const [from, setFrom] = useState(() => utcDay(13));
  const [to, setTo] = useState(() => utcDay(0));
  const valid = from <= to;
  // While a new range loads, keep showing the previous one (no flash of "no history").
  const live = useLive(api.dashboard.history, valid ? { from_day: from, to_day: to } : "skip").data as DayMetrics[] | undefined;
  const last = useRef<DayMetrics[]>([]);
  if (live !== undefined) last.current = live;
  const rows = live ?? last.current;
  const board = (useLive(api.dashboard.agents_day, { day: to }).data ?? []) as (DayMetrics & { agent_id: string })[];
  const people = (useLive(api.console.directory, {}).data ?? []) as Person[];
  const names = new Map(people.map((p) => [p.agent_id, p.name]));
  const days = rows.map((r) => r.day);
  const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms / 100) / 10);

  return (
    <div className="stack" style={{ gap: 14 }} data-testid="history">
      <div className="row">
        <label className="field">
          <span>From</span>
          <input className="input" type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value)} data-testid="history-from" />
        </label>
        <label className="field">
          <span>To</span>
          <input className="input" type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} data-testid="history-to" />
        </label>
        <div className="row" style={{ alignSelf: "flex-end" }}>
          {[7, 14, 30].map((n) => (
            <button key={n} className="btn small" onClick={() => { setFrom(utcDay(n - 1)); setTo(utcDay(0)); }}>
              Last {n} days
            </button>
          ))}
        </div>
        {!valid ? <span className="error-text">“From” must be before “To”.</span> : null}
      </div>
      {rows.length === 0 ? <div className="panel empty">No history in this range.</div> : null}
      {rows.length > 0 ? (
        <div className="charts">
          <LineChart id="service-level" title="Service level (20 s) and abandonment" days={days} format={(v) => `${Math.round(v)}%`} max={100}
            series={[
              { name: "Service level %", color: "#2357d9", values: rows.map((r) => round(r.service_level)) },
              { name: "Abandonment %", color: "#c4322b", values: rows.map((r) => round(r.abandonment_rate)) },
            ]}
          />
          <LineChart id="handle-times" title="ASA and AHT (seconds)" days={days} format={(v) => `${Math.round(v)}`}
            series={[
              { name: "ASA s", color: "#17a34a", values: rows.map((r) => seconds(r.asa_ms)) },
              { name: "AHT s", color: "#8b44d6", values: rows.map((r) => seconds(r.aht_ms)) },
            ]}
          />
          <StackedBars id="volume" title="Calls by outcome" days={days}
            series={[
              { name: "Answered", color: "#2357d9", values: rows.map((r) => r.answered) },
              { name: "Abandoned", color: "#e5484d", values: rows.map((r) => r.abandoned) },
              { name: "Voicemail", color: "#e59a00", values: rows.map((r) => r.voicemail) },
            ]}
          />
          <Panel title={`Agent leaderboard · ${to}`} testid="leaderboard">
            <table className="grid">
              <thead>
                <tr>
                  <th>Agent</th>
                  <th>Handled</th>
                  <th>AHT</th>
                  <th>Occupancy</th>
                  <th>Score</th>
                </tr>
              </thead>
              <tbody>
                {[...board].sort((a, b) => b.handled - a.handled).map((r) => (
                  <tr key={r.agent_id} data-testid="leaderboard-row" data-agent-id={r.agent_id} data-handled={r.handled}>
                    <td>{names.get(r.agent_id) ?? r.agent_id}</td>
                    <td className="num">{r.handled}</td>
                    <td className="num">{formatSeconds(r.aht_ms)}</td>
                    <td className="num">{formatPercent(r.occupancy)}</td>
                    <td className="num">{r.score_average === null ? "–" : r.score_average.toFixed(1)}</td>
                  </tr>
                ))}
                {board.length === 0 ? (
                  <tr>
                    <td colSpan={5} className="muted">
                      No agent activity on {to}.
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </Panel>
        </div>
      ) : null}
    </div>
  );
}
