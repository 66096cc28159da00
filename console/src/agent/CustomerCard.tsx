/** A customer (or a bare number): details, DNC/DNT badges, call, add to DNC, recent calls. */
import { useMutation } from "reactor-client/react";
import { api, type Doc, type Id } from "../model.js";
import { formatDate, formatDuration, formatPhone } from "../time.js";
import { TierBadge } from "../ui/common.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";
import { nameOf, useAgent } from "./context.js";
import { CallButton } from "./Dialer.js";

function ComplianceBadges({ phone }: { phone: string }) {
  const status = useLive(api.sms.compliance.status, { phone }).data;
  return (
    <span className="row" data-testid="compliance-badges">
      {status?.voice ? <span className="badge danger">Do not call</span> : null}
      {status?.sms ? <span className="badge danger">Opted out of texts</span> : null}
      {status && !status.voice && !status.sms ? <span className="badge ok">OK to contact</span> : null}
    </span>
  );
}

function AddToDnc({ phone }: { phone: string }) {
  const toast = useToast();
  const status = useLive(api.sms.compliance.status, { phone }).data;
  const setDnc = useMutation(api.sms.compliance.set_dnc);
  if (status?.voice) return null;
  return (
    <button
      className="btn small"
      onClick={() =>
        setDnc({ phone, channel: "voice", dnc: true, note: "customer asked on the phone" })
          .then(() => toast.show("Added to the do-not-call list", "ok"))
          .catch(toast.fail)
      }
    >
      Add to DNC
    </button>
  );
}

export function CustomerCard({ customerId }: { customerId: Id<"customers"> }) {
  const { people } = useAgent();
  const history = useLive(api.customers.history, { customer_id: customerId, limit: 10 }).data as
    | { customer: Doc<"customers"> | null; calls: Doc<"calls">[] }
    | undefined;
  if (!history) return <div className="empty">Loading…</div>;
  const c = history.customer;
  if (!c) return <div className="empty">This customer no longer exists.</div>;
  return (
    <div className="stack" style={{ gap: 16 }} data-testid="customer-card">
      <div className="spread">
        <div>
          <div className="row">
            <h2 style={{ fontSize: 20 }}>{c.name}</h2>
            <TierBadge tier={c.tier} />
          </div>
          <div className="muted">{formatPhone(c.phone)}</div>
        </div>
        <div className="row">
          <AddToDnc phone={c.phone} />
          <CallButton phone={c.phone} customerId={c._id} />
        </div>
      </div>
      <ComplianceBadges phone={c.phone} />
      <dl className="kv">
        <dt>Account</dt>
        <dd>{c.account_ref ?? "–"}</dd>
        <dt>Language</dt>
        <dd>{c.preferred_language ?? "–"}</dd>
        <dt>Last agent</dt>
        <dd>{nameOf(people, c.last_agent_id)}</dd>
        <dt>Last contact</dt>
        <dd>{formatDate(c.last_contact_at)}</dd>
      </dl>
      <div className="stack">
        <h3>Recent calls</h3>
        {history.calls.length === 0 ? <div className="muted">No calls yet.</div> : null}
        <table className="grid">
          <thead>
            <tr>
              <th>When</th>
              <th>Direction</th>
              <th>Agent</th>
              <th>Outcome</th>
              <th>Talk</th>
              <th>Rec.</th>
            </tr>
          </thead>
          <tbody>
            {history.calls.map((call) => (
              <tr key={call._id}>
                <td className="nowrap">{formatDate(call.created_at)}</td>
                <td>{call.direction}</td>
                <td>{nameOf(people, call.agent_id)}</td>
                <td>{call.disposition ?? call.status.replace(/_/g, " ")}</td>
                <td className="num">{call.answered_at && call.ended_at ? formatDuration(call.ended_at - call.answered_at - call.hold_ms) : "–"}</td>
                <td>{call.recording_ids.length ? `${call.recording_ids.length} ▶` : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function PhoneCard({ phone }: { phone: string }) {
  return (
    <div className="stack" style={{ gap: 16 }} data-testid="phone-card">
      <div className="spread">
        <div>
          <h2 style={{ fontSize: 20 }}>{formatPhone(phone)}</h2>
          <div className="muted">Not a known customer</div>
        </div>
        <div className="row">
          <AddToDnc phone={phone} />
          <CallButton phone={phone} />
        </div>
      </div>
      <ComplianceBadges phone={phone} />
    </div>
  );
}
