/** The compliance audit (`data-testid=compliance`): a number's DNC/DNT trail, newest first, paginated. */
import { useState, type FormEvent } from "react";
import { usePaginatedQuery } from "reactor-client/react";
import { api, type Doc } from "../model.js";
import { formatPhone } from "../time.js";
import { Panel } from "../ui/common.js";
import { ErrorBoundary } from "../ui/ErrorBoundary.js";
import { useLive } from "../ui/live.js";

const PAGE = 20;

export function Compliance() {
  const [input, setInput] = useState("+14155550102");
  const [phone, setPhone] = useState<string | null>(null);
  const status = useLive(api.sms.compliance.status, phone ? { phone } : "skip").data;
  const search = (e: FormEvent) => {
    e.preventDefault();
    setPhone(input.trim() || null);
  };
  return (
    <div className="stack" style={{ gap: 14 }} data-testid="compliance">
      <form className="row" onSubmit={search} role="search">
        <label className="field">
          <span>Phone number</span>
          <input className="input" value={input} onChange={(e) => setInput(e.target.value)} data-testid="compliance-phone" style={{ width: 240 }} />
        </label>
        <button className="btn primary" type="submit" style={{ alignSelf: "flex-end" }}>
          Search
        </button>
        {status ? (
          <span className="row" style={{ alignSelf: "flex-end", marginBottom: 6 }}>
            <span className={`badge ${status.voice ? "danger" : "ok"}`}>voice: {status.voice ? "do not call" : "allowed"}</span>
            <span className={`badge ${status.sms ? "danger" : "ok"}`}>sms: {status.sms ? "opted out" : "allowed"}</span>
          </span>
        ) : null}
      </form>
      <ErrorBoundary resetKey={phone}>
        <Trail phone={phone} />
      </ErrorBoundary>
    </div>
  );
}

function Trail({ phone }: { phone: string | null }) {
  // The server pages the trail newest first (`events_page`); each loaded page stays live.
  const events = usePaginatedQuery(api.sms.compliance.events_page, phone ? { phone } : "skip", {
    initialNumItems: PAGE,
    paginationArgs: (args, p) => ({ ...args, cursor: p.cursor, num_items: p.numItems }),
  });
  const rows = events.results as Doc<"compliance_events">[];
  return (
    <Panel
      title={phone ? `Audit trail · ${formatPhone(phone)}` : "Audit trail"}
      actions={
        events.status === "CanLoadMore" ? (
          <button className="btn small" onClick={() => events.loadMore(PAGE)} data-testid="compliance-more">
            Load older
          </button>
        ) : phone && events.status === "Exhausted" ? (
          <span className="muted small">{rows.length} events</span>
        ) : null
      }
    >
      {!phone ? <div className="empty">Search a number to see every opt-out, opt-in, blocked send and manual change.</div> : null}
       {phone && rows.length === 0 && !events.isLoading ? <div className="empty">No compliance events for this number.</div> : null}
      {rows.length > 0 ? (
        <table className="grid">
          <thead>
            <tr>
              <th>Time</th>
              <th>Channel</th>
              <th>Action</th>
              <th>Source</th>
              <th>Keyword</th>
              <th>Actor</th>
              <th>Raw body</th>
              <th>Ref SID</th>
              <th>Prev → new</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r._id} data-testid="compliance-row" data-action={r.action}>
                <td className="num">{new Date(r.occurred_at).toLocaleString()}</td>
                <td>{r.channel}</td>
                <td>
                  <span className={`badge ${r.action === "opt_out" || r.action === "blocked_send" || r.action === "manual_dnc_add" ? "danger" : "ok"}`}>{r.action.replace(/_/g, " ")}</span>
                </td>
                <td>{r.source}</td>
                <td>{r.keyword ?? "–"}</td>
                <td>{r.actor_id ?? "–"}</td>
                <td className="small">{r.raw_body ?? "–"}</td>
                <td className="small">{r.ref_sid ?? "–"}</td>
                <td className="small">
                  {r.prev_state === null ? "–" : String(r.prev_state)} → {r.new_state === null ? "–" : String(r.new_state)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Panel>
  );
}
