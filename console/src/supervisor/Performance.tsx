/** An agent's performance over two weeks (`scorecards:performance`) and an AI coaching summary. */
import { useState } from "react";
import { useReactor } from "reactor-client/react";
import { describeError } from "../errors.js";
import { api } from "../model.js";
import { formatPercent, formatSeconds, utcDay } from "../time.js";
import { Panel } from "../ui/common.js";
import { useLive } from "../ui/live.js";

interface Perf {
  handled: number;
  aht_ms: number | null;
  hold_ratio: number | null;
  missed_offers: number;
  transfer_rate: number | null;
  occupancy: number | null;
  scorecards: number;
  score_average: number | null;
  category_averages: Record<string, number | null>;
}

interface Summary {
  strengths?: string[];
  improvements?: string[];
  coaching_actions?: string[];
}

export function Performance({ agentId, agentName }: { agentId: string; agentName: string }) {
  const client = useReactor();
  const from = utcDay(13);
  const to = utcDay(0);
  const perf = useLive(api.scorecards.performance, { from_day: from, to_day: to, agent_id: agentId }).data as Perf | undefined;
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const generate = async () => {
    setBusy(true);
    setError(null);
    try {
      setSummary((await client.action("ai/summaries:agent", { from_day: from, to_day: to, agent_id: agentId })) as Summary);
    } catch (e) {
      const message = describeError(e);
      setError(/not found|could not find|no function/i.test(message) ? "AI summaries are not available on this server." : message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Panel
      title={`${agentName} · last 14 days`}
      testid="performance"
      actions={
        <button className="btn small" onClick={() => void generate()} disabled={busy}>
          {busy ? "Summarising…" : "Generate AI summary"}
        </button>
      }
    >
      <div className="panel-body stack">
        {perf ? (
          <dl className="kv" style={{ gridTemplateColumns: "auto 1fr auto 1fr" }}>
            <dt>Handled</dt>
            <dd className="num">{perf.handled}</dd>
            <dt>AHT</dt>
            <dd className="num">{formatSeconds(perf.aht_ms)}</dd>
            <dt>Hold ratio</dt>
            <dd className="num">{perf.hold_ratio === null ? "–" : formatPercent(perf.hold_ratio * 100)}</dd>
            <dt>Transfers</dt>
            <dd className="num">{perf.transfer_rate === null ? "–" : formatPercent(perf.transfer_rate * 100)}</dd>
            <dt>Missed offers</dt>
            <dd className="num">{perf.missed_offers}</dd>
            <dt>Occupancy</dt>
            <dd className="num">{formatPercent(perf.occupancy)}</dd>
          </dl>
        ) : (
          <div className="muted small">Loading…</div>
        )}
        {error ? <div className="notice warn small">{error}</div> : null}
        {summary ? (
          <div className="sup-grid" style={{ gridTemplateColumns: "1fr 1fr 1fr" }} data-testid="ai-summary">
            {(
              [
                ["Strengths", summary.strengths],
                ["To improve", summary.improvements],
                ["Coaching", summary.coaching_actions],
              ] as const
            ).map(([title, items]) => (
              <div key={title} className="stack small">
                <h3>{title}</h3>
                <ul style={{ margin: 0, paddingLeft: 18 }}>
                  {(items ?? []).map((item) => (
                    <li key={item}>{item}</li>
                  ))}
                </ul>
              </div>
            ))}
          </div>
        ) : null}
      </div>
    </Panel>
  );
}
