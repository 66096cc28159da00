/**
 * The work column's top card: the ring card while a call rings for me, the in-call panel
 * while I am on a call, the wrap-up form afterwards, or "ready" when I am idle.
 * There is never more than one ring card: it is driven by `agents:my_offer`, which is
 * one row (my reservation).
 */
import { useEffect, useRef, useState } from "react";
import { useMutation } from "reactor-client/react";
import { describeError, errorCode } from "../errors.js";
import { api, type Offer } from "../model.js";
import { formatDate, formatDuration, formatPhone, useNow } from "../time.js";
import { AWAY_REASONS, Panel, TierBadge } from "../ui/common.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";
import { CallPanel } from "./CallPanel.js";
import { nameOf, useAgent } from "./context.js";

export function WorkPanel() {
  const { me } = useAgent();
  const offer = useLive(api.agents.my_offer, me ? {} : "skip").data as Offer | null | undefined;
  useOfferOutcome(offer ?? null);
  if (!me || me.status === "offline") {
    return (
      <Panel title="Calls" testid="work-idle">
        <div className="empty">You are signed out of the queue. Choose Available in the status menu to take calls.</div>
      </Panel>
    );
  }
  if (me.status === "reserved" && offer) return <RingCard offer={offer} />;
  if (me.status === "on_call" && me.call_id) return <CallPanel callId={me.call_id} />;
  if (me.status === "wrap_up") return <WrapUp />;
  return (
    <Panel title="Calls" testid="work-idle">
      <div className="empty">
        {me.status === "available" ? "Ready. Calls ring here." : `Away${me.reason ? ` · ${me.reason}` : ""}. You will not be offered calls.`}
      </div>
    </Panel>
  );
}

// Offers this page answered or declined: their disappearance is no news.
const handledOffers = new Set<string>();

function markHandled(callId: string) {
  handledOffers.add(callId);
}

/** When an offer disappears without my answer: the caller hung up, or it timed out. */
function useOfferOutcome(offer: Offer | null) {
  const { notify } = useAgent();
  const last = useRef<Offer | null>(null);
  useEffect(() => {
    const prev = last.current;
    last.current = offer;
    if (offer) {
      notify(null);
      return;
    }
    if (!prev || handledOffers.has(prev.call_id)) return;
    const expired = Date.now() >= prev.expires_at - 750;
    notify(expired ? { text: "Missed call: it went to the next agent.", tone: "warn" } : { text: "Caller hung up.", tone: "info" });
  }, [offer, notify]);
}

function RingCard({ offer }: { offer: Offer }) {
  const { line, people, notify } = useAgent();
  const toast = useToast();
  const now = useNow(250);
  const answer = useMutation(api.calls.answer);
  const decline = useMutation(api.calls.decline);
  const acceptTransfer = useMutation(api.transfers.accept);
  const declineTransfer = useMutation(api.transfers.decline);
  const transfer = useLive(api.transfers.incoming, offer.kind === "transfer" ? {} : "skip").data;
  const [busy, setBusy] = useState(false);
  const left = Math.max(0, offer.expires_at - now);
  const total = offer.kind === "transfer" ? 30_000 : 20_000;
  const customer = offer.customer;
  const acceptRef = useRef<HTMLButtonElement>(null);
  useEffect(() => acceptRef.current?.focus(), [offer.call_id]);

  const onAccept = async () => {
    setBusy(true);
    markHandled(offer.call_id);
    try {
      line.callFor(offer.call_id)?.accept();
      if (offer.kind === "transfer" && transfer) await acceptTransfer({ transfer_id: transfer._id });
      else await answer({ call_id: offer.call_id });
    } catch (e) {
      if (errorCode(e) === "call_not_ringing") notify({ text: "Caller hung up.", tone: "info" });
      else toast.fail(e);
    } finally {
      setBusy(false);
    }
  };
  const onDecline = async () => {
    setBusy(true);
    markHandled(offer.call_id);
    try {
      line.callFor(offer.call_id)?.reject();
      if (offer.kind === "transfer" && transfer) await declineTransfer({ transfer_id: transfer._id });
      else await decline({ call_id: offer.call_id });
    } catch (e) {
      toast.fail(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel ring" data-testid="ring-card" aria-label="Incoming call" role="alertdialog" aria-describedby="ring-caller">
      <div className="panel-head">
        <h2>{offer.kind === "transfer" ? `Transfer from ${nameOf(people, transfer?.from_agent_id)}` : "Incoming call"}</h2>
        <span className="countdown num" data-testid="ring-countdown" data-value={Math.ceil(left / 1000)}>
          {Math.ceil(left / 1000)} s
        </span>
      </div>
      <div className="bar" aria-hidden="true">
        <i style={{ width: `${(left / total) * 100}%` }} />
      </div>
      <div className="panel-body stack">
        <div id="ring-caller">
          <div className="big-number" data-testid="ring-phone">
            {formatPhone(offer.phone)}
          </div>
          <div className="row" style={{ marginTop: 4 }}>
            <b data-testid="ring-customer">{customer ? customer.name : "Unknown caller"}</b>
            <TierBadge tier={customer?.tier} />
          </div>
        </div>
        <dl className="kv">
          <dt>Queue</dt>
          <dd data-testid="ring-queue">{offer.queue ?? "–"}</dd>
          {customer ? (
            <>
              <dt>Account</dt>
              <dd>{customer.account_ref ?? "–"}</dd>
              <dt>Last agent</dt>
              <dd>{nameOf(people, customer.last_agent_id)}</dd>
              <dt>Last contact</dt>
              <dd>{formatDate(customer.last_contact_at)}</dd>
            </>
          ) : null}
        </dl>
        <div className="row">
          <button ref={acceptRef} className="btn ok grow" onClick={onAccept} disabled={busy} data-testid="accept">
            Accept
          </button>
          <button className="btn danger grow" onClick={onDecline} disabled={busy} data-testid="decline">
            Decline
          </button>
        </div>
      </div>
    </section>
  );
}

const DISPOSITIONS = ["Resolved", "Follow-up needed", "Escalated", "Sale", "Wrong number", "No answer", "Voicemail left"];

function WrapUp() {
  const { me, notify } = useAgent();
  const toast = useToast();
  const now = useNow();
  const call = useLive(api.calls.get, me?.call_id ? { call_id: me.call_id } : "skip").data;
  const finish = useMutation(api.agents.finish_wrap_up);
  // The centre ends after-call work on its own after acw_timeout_s (disposition "auto").
  const settings = useLive(api.settings.get, {}).data as { acw_timeout_s?: number } | undefined;
  const acwLeft = settings?.acw_timeout_s && me ? me.status_since + settings.acw_timeout_s * 1000 - now : null;
  const [disposition, setDisposition] = useState("");
  const [notes, setNotes] = useState("");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (next: "available" | "away") => {
    if (!disposition) {
      setError("Choose a disposition.");
      return;
    }
    if (next === "away" && !reason) {
      setError("Choose a reason for being away.");
      return;
    }
    setError(null);
    setBusy(true);
    try {
      await finish(next === "away" ? { disposition, notes, next_status: "away", reason } : { disposition, notes, next_status: "available" });
      notify(null);
    } catch (e) {
      setError(describeError(e));
      toast.fail(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Panel title="Wrap-up" testid="wrap-up" actions={
        <span className="num muted" data-testid="acw-timer">
          ACW {formatDuration(me ? now - me.status_since : 0)}
          {acwLeft !== null ? <span data-testid="acw-left"> · ends in {formatDuration(Math.max(0, acwLeft))}</span> : null}
        </span>
      }>
      <form className="panel-body stack" onSubmit={(e) => { e.preventDefault(); void submit("available"); }}>
        {call ? (
          <div className="muted small">
            {call.direction === "inbound" ? "Inbound" : "Outbound"} call with {formatPhone(call.phone)} · talk {formatDuration((call.ended_at ?? now) - (call.answered_at ?? call.created_at) - call.hold_ms)}
          </div>
        ) : null}
        <label className="field">
          <span>Disposition (required)</span>
          <select className="input" value={disposition} onChange={(e) => {
              setDisposition(e.target.value);
              setError(null);
            }} aria-required="true" data-testid="disposition">
            <option value="">Choose…</option>
            {DISPOSITIONS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Notes</span>
          <textarea className="input" rows={3} value={notes} onChange={(e) => setNotes(e.target.value)} data-testid="wrap-notes" />
        </label>
        {error ? (
          <div className="error-text" role="alert">
            {error}
          </div>
        ) : null}
        <div className="row">
          <button className="btn primary grow" type="submit" disabled={busy} data-testid="ready">
            Ready
          </button>
          <select className="input" aria-label="Away reason" value={reason} onChange={(e) => setReason(e.target.value)} style={{ width: 110 }}>
            <option value="">Reason…</option>
            {AWAY_REASONS.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
          <button className="btn" type="button" disabled={busy} onClick={() => void submit("away")}>
            Away
          </button>
        </div>
      </form>
    </Panel>
  );
}
