/** What the center shows with no contact open: my day's numbers and my latest scorecards. */
import { api, type DayMetrics, type Doc } from "../model.js";
import { formatDate, formatPercent, formatSeconds } from "../time.js";
import { useLive } from "../ui/live.js";
import { useAgent } from "./context.js";

export function MyDay() {
  const { session } = useAgent();
  const day = useLive(api.dashboard.agent_day, {}).data as DayMetrics | undefined;
  const cards = useLive(api.scorecards.for_agent, { limit: 5 }).data as { cards: Doc<"scorecards">[] } | undefined;
  const tiles: [string, string][] = [
    ["Handled", String(day?.handled ?? 0)],
    ["Outbound", String(day?.outbound ?? 0)],
    ["AHT", formatSeconds(day?.aht_ms)],
    ["Occupancy", formatPercent(day?.occupancy)],
  ];
  return (
    <div className="stack" style={{ gap: 18 }} data-testid="my-day">
      <div>
        <h2 style={{ fontSize: 18 }}>Good to see you, {session.name.split(" ")[0]}</h2>
        <div className="muted">No contact open. Answer a call, dial a number or open a conversation.</div>
      </div>
      <h3>Today</h3>
      <div className="tiles" style={{ gridTemplateColumns: "repeat(4, 1fr)", marginTop: -8 }}>
        {tiles.map(([label, value]) => (
          <div key={label} className="tile" style={{ minHeight: 0 }}>
            <div className="label">{label}</div>
            <div className="value">{value}</div>
          </div>
        ))}
      </div>
      <div className="stack">
        <h3>My recent scorecards</h3>
        {cards && cards.cards.length === 0 ? <div className="muted small">No scorecards yet.</div> : null}
        {cards?.cards.map((c) => (
          <div key={c._id} className="panel panel-body small" data-testid="my-scorecard">
            <div className="spread">
              <b>
                {c.average.toFixed(1)} / 5 {c.source === "ai" ? <span className="badge info">AI</span> : null}
              </b>
              <span className="muted">{formatDate(c.created_at)}</span>
            </div>
            <div>{c.feedback || <span className="muted">No feedback.</span>}</div>
            {c.coaching_notes ? <div className="muted">Coaching: {c.coaching_notes}</div> : null}
          </div>
        ))}
      </div>
    </div>
  );
}
