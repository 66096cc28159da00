/**
 * The supervisor's live floor (`data-testid=sup-dashboard`): tiles, active calls with
 * monitor / whisper / barge / hang up / reassign, the agent board with force status, and
 * queues against their service-level targets. Every number is a live query; waits and
 * durations tick here from the server's timestamps.
 */
import { useState } from "react";
import { useMutation } from "reactor-client/react";
import type { Person } from "../agent/context.js";
import { api, type ActiveCallRow, type DayMetrics, type Doc, type QueueSummary, type SmsDay } from "../model.js";
import { formatDuration, formatPercent, formatPhone, formatSeconds, useNow } from "../time.js";
import { AWAY_REASONS, Panel, STATUS_LABEL, StatusDot } from "../ui/common.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";

const PRESENCE_TIMEOUT_MS = 120_000;

function Tile(props: { id: string; label: string; value: string; raw: number | null | undefined; sub?: string; alert?: boolean }) {
  return (
    <div className={`tile ${props.alert ? "alert" : ""}`} data-testid={`tile-${props.id}`} data-value={props.raw ?? ""} role="group" aria-label={props.label}>
      <div className="label">{props.label}</div>
      <div className="value">{props.value}</div>
      {props.sub ? <div className="sub">{props.sub}</div> : null}
    </div>
  );
}

export function LiveDashboard() {
  const now = useNow();
  const queue = useLive(api.dashboard.queue, {}).data as QueueSummary | undefined;
  const agents = useLive(api.dashboard.agents, {}).data as { counts: Record<string, number> } | undefined;
  const active = (useLive(api.dashboard.active_calls, {}).data ?? []) as ActiveCallRow[];
  const today = useLive(api.dashboard.today, {}).data as DayMetrics | undefined;
  const sms = useLive(api.dashboard.sms_day, {}).data as SmsDay | undefined;
  const people = (useLive(api.console.directory, {}).data ?? []) as Person[];
  const queues = (useLive(api.queues.list, {}).data ?? []) as Doc<"queues">[];

  const waiting = active.filter((c) => c.state === "queued");
  const waits = waiting.map((c) => now - c.started_at);
  const longest = waits.length ? Math.max(...waits) : 0;
  const average = waits.length ? waits.reduce((a, b) => a + b, 0) / waits.length : 0;
  const counts = agents?.counts ?? {};
  const staffed = Object.values(counts).reduce((a, b) => a + b, 0);
  const sl = today?.service_level;
  const slTarget = 80;

  return (
    <div className="stack" style={{ gap: 14 }} data-testid="sup-dashboard">
      <div className="tiles">
        <Tile id="waiting" label="Waiting" value={String(queue?.waiting ?? 0)} raw={queue?.waiting} alert={(queue?.waiting ?? 0) > 0 && longest > 30_000} sub={`${queue?.ringing ?? 0} ringing`} />
        <Tile id="ringing" label="Ringing" value={String(queue?.ringing ?? 0)} raw={queue?.ringing} sub="offered to agents" />
        <Tile id="longest-wait" label="Longest wait" value={formatDuration(longest)} raw={Math.floor(longest / 1000)} sub={`avg ${formatDuration(average)}`} alert={longest > 60_000} />
        <Tile id="active-calls" label="Active calls" value={String(active.filter((c) => c.state !== "queued").length)} raw={active.filter((c) => c.state !== "queued").length} sub={`${active.length} live incl. queued`} />
        <Tile id="agents" label="Agents signed in" value={String(staffed)} raw={staffed} sub={`${counts.available ?? 0} available · ${counts.on_call ?? 0} on call`} />
        <Tile id="service-level" label={`SL today (SL ${today?.service_level_seconds ?? 20} s)`} value={formatPercent(sl)} raw={sl ?? null} sub={`target ${slTarget}%`} alert={sl !== null && sl !== undefined && sl < slTarget} />
        <Tile id="abandonment" label="Abandonment" value={formatPercent(today?.abandonment_rate)} raw={today?.abandonment_rate ?? null} sub={`${today?.abandoned ?? 0} of ${today?.queued ?? 0} calls`} />
        <Tile id="asa" label="ASA" value={formatSeconds(today?.asa_ms)} raw={today?.asa_ms ?? null} sub="average speed of answer" />
        <Tile id="aht" label="AHT" value={formatSeconds(today?.aht_ms)} raw={today?.aht_ms ?? null} sub="talk + hold + wrap-up" />
        <Tile id="occupancy" label="Occupancy" value={formatPercent(today?.occupancy)} raw={today?.occupancy ?? null} sub="on contact vs idle" />
        <Tile id="handled" label="Handled today" value={String(today?.handled ?? 0)} raw={today?.handled} sub={`${today?.outbound ?? 0} outbound`} />
        <Tile id="sms" label="SMS today" value={`${sms?.sms_in ?? 0} / ${sms?.sms_out ?? 0}`} raw={sms?.sms_in} sub={`in / out · ${sms?.sms_blocked ?? 0} blocked · ${sms?.opt_outs ?? 0} opt-outs`} />
      </div>
      <div className="agent-counts" aria-label="Agents by status" data-testid="agent-counts">
        {(["available", "reserved", "on_call", "wrap_up", "away"] as const).map((s) => (
          <span key={s} data-status={s} data-value={counts[s] ?? 0}>
            <StatusDot status={s} /> {STATUS_LABEL[s]} <b>{counts[s] ?? 0}</b>
          </span>
        ))}
      </div>
      <ActiveCalls rows={active} people={people} now={now} />
      <div className="sup-grid">
        <AgentBoard people={people} now={now} />
        <QueuesTable queues={queues} summary={queue} waiting={waiting} now={now} />
      </div>
    </div>
  );
}

function ActiveCalls({ rows, people, now }: { rows: ActiveCallRow[]; people: Person[]; now: number }) {
  const toast = useToast();
  const join = useMutation(api.calls.join);
  const hangup = useMutation(api.calls.hangup);
  const reassign = useMutation(api.routing.reassign);
  const names = new Map(people.map((p) => [p.agent_id, p.name]));
  const available = people.filter((p) => p.status === "available");
  const [picking, setPicking] = useState<string | null>(null);
  return (
    <Panel title={`Active calls (${rows.length})`} testid="active-calls">
      {rows.length === 0 ? <div className="empty">No live calls.</div> : null}
      {rows.length > 0 ? (
        <table className="grid">
          <thead>
            <tr>
              <th>Caller</th>
              <th>Agent</th>
              <th>State</th>
              <th>Queue</th>
              <th>Duration</th>
              <th>Talk</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r._id} data-testid="active-call" data-call-id={r.call_id} data-state={r.state}>
                <td className="nowrap">{formatPhone(r.phone)}</td>
                <td>{r.agent_id ? (names.get(r.agent_id) ?? r.agent_id) : "–"}</td>
                <td>
                  <span className={`badge ${r.state === "queued" ? "warn" : r.state === "on_hold" ? "warn" : "info"}`}>{r.state.replace("_", " ")}</span>
                </td>
                <td>{r.queue ?? (r.direction === "outbound" ? "outbound" : "–")}</td>
                <td className="num">{formatDuration(now - r.started_at)}</td>
                <td className="num">{r.answered_at ? formatDuration(now - r.answered_at) : "–"}</td>
                <td className="actions">
                  {r.state === "talking" || r.state === "on_hold" ? (
                    <>
                      {(["monitor", "whisper", "barge"] as const).map((mode) => (
                        <button key={mode} className="btn small" onClick={() => join({ call_id: r.call_id, mode }).then(() => toast.show(`Joined: ${mode}`, "ok")).catch(toast.fail)}>
                          {mode[0]!.toUpperCase() + mode.slice(1)}
                        </button>
                      ))}
                      <button className="btn small danger" onClick={() => hangup({ call_id: r.call_id }).catch(toast.fail)}>
                        Hang up
                      </button>
                    </>
                  ) : null}
                  {r.state === "queued" ? (
                    picking === r.call_id ? (
                      <select
                        className="input"
                        autoFocus
                        aria-label="Reassign to agent"
                        defaultValue=""
                        onBlur={() => setPicking(null)}
                        onChange={(e) => {
                          setPicking(null);
                          if (e.target.value) void reassign({ call_id: r.call_id, agent_id: e.target.value }).catch(toast.fail);
                        }}
                      >
                        <option value="">Choose agent…</option>
                        {available.map((p) => (
                          <option key={p.agent_id} value={p.agent_id}>
                            {p.name}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <button className="btn small" onClick={() => setPicking(r.call_id)} disabled={available.length === 0} title={available.length ? "Offer to a specific agent" : "No agent is available"}>
                        Reassign
                      </button>
                    )
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Panel>
  );
}

function AgentBoard({ people, now }: { people: Person[]; now: number }) {
  const toast = useToast();
  const force = useMutation(api.agents.force_status);
  const [showOffline, setShowOffline] = useState(false);
  const order = ["on_call", "reserved", "wrap_up", "available", "away", "offline"];
  const rows = people.filter((p) => showOffline || p.status !== "offline").sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status) || a.name.localeCompare(b.name));
  return (
    <Panel
      title="Agents"
      testid="agent-board"
      actions={
        <label className="row small">
          <input type="checkbox" checked={showOffline} onChange={(e) => setShowOffline(e.target.checked)} /> show offline
        </label>
      }
    >
      {rows.length === 0 ? <div className="empty">Nobody is signed in.</div> : null}
      {rows.length > 0 ? (
        <table className="grid">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Status</th>
              <th>In status</th>
              <th>
                <span className="sr-only">Force status</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => {
              const live = now - p.heartbeat_at <= PRESENCE_TIMEOUT_MS;
              return (
                <tr key={p.agent_id} data-testid="agent-row" data-agent-id={p.agent_id} data-status={p.status}>
                  <td>
                    <span className="row">
                      <span className={`dot ${live ? "live" : "stale"}`} role="img" aria-label={live ? "softphone live" : "softphone stale"} title={live ? "Heartbeat is recent" : "No heartbeat for 2 minutes"} />
                      <b>{p.name}</b>
                    </span>
                  </td>
                  <td>
                    <span className="row">
                      <StatusDot status={p.status} />
                      {STATUS_LABEL[p.status]}
                      {p.reason && p.status === "away" ? <span className="muted small">· {p.reason}</span> : null}
                    </span>
                  </td>
                  <td className="num">{formatDuration(now - p.status_since)}</td>
                  <td className="actions">
                    <select
                      className="input"
                      aria-label={`Force status of ${p.name}`}
                      value=""
                      style={{ height: 28, fontSize: 12.5 }}
                      onChange={(e) => {
                        const [status, reason] = e.target.value.split(":", 2) as ["available" | "away" | "offline", string | undefined];
                        if (!status) return;
                        void force(reason ? { agent_id: p.agent_id, status, reason } : { agent_id: p.agent_id, status }).catch(toast.fail);
                      }}
                    >
                      <option value="">Force…</option>
                      <option value="available">Available</option>
                      {AWAY_REASONS.map((r) => (
                        <option key={r} value={`away:${r}`}>
                          Away · {r}
                        </option>
                      ))}
                      <option value="offline">Sign out</option>
                    </select>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </Panel>
  );
}

function QueuesTable({ queues, summary, waiting, now }: { queues: Doc<"queues">[]; summary: QueueSummary | undefined; waiting: ActiveCallRow[]; now: number }) {
  return (
    <Panel title="Queues" testid="queues">
      <table className="grid">
        <thead>
          <tr>
            <th>Queue</th>
            <th>Number</th>
            <th>Waiting</th>
            <th>Longest wait</th>
            <th>SL target</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => {
            const mine = waiting.filter((c) => c.queue === q.name);
            const longest = mine.length ? Math.max(...mine.map((c) => now - c.started_at)) : 0;
            const over = longest > q.sla_seconds * 1000;
            return (
              <tr key={q._id} data-testid="queue-row" data-queue={q.name} data-waiting={summary?.queues[q.name]?.waiting ?? 0}>
                <td>
                  <b>{q.name}</b>
                </td>
                <td>{formatPhone(q.number)}</td>
                <td className="num">{summary?.queues[q.name]?.waiting ?? 0}</td>
                <td className="num" style={{ color: over ? "var(--danger)" : undefined }}>
                  {mine.length ? formatDuration(longest) : "–"}
                </td>
                <td>
                  <span className={`badge ${over ? "danger" : "ok"}`}>{over ? "over" : "within"} {q.sla_seconds} s</span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Panel>
  );
}
