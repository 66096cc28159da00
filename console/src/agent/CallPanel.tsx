/**
 * The in-call panel (`data-testid=call-panel`): who, direction, state, talk and hold
 * timers (from the call's `answered_at` / `hold_started_at`), hold/resume, mute, keypad,
 * transfer and hang up, and the live transcript when one streams in.
 */
import { useEffect, useRef, useState } from "react";
import { useMutation } from "reactor-client/react";
import { describeError } from "../errors.js";
import { api, type Doc, type Id } from "../model.js";
import { formatDuration, formatPhone, useNow } from "../time.js";
import { Panel, TierBadge } from "../ui/common.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";
import { nameOf, useAgent } from "./context.js";
import { TransferDialog } from "./TransferDialog.js";
import { Icon } from "../ui/icons.js";

const STATE_LABEL: Record<string, string> = {
  ringing: "ringing",
  queued: "ringing",
  in_progress: "talking",
  on_hold: "on hold",
  transferring: "transferring",
};

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

export function CallPanel({ callId }: { callId: Id<"calls"> }) {
  const { line, people, me, notify } = useAgent();
  const toast = useToast();
  const now = useNow();
  const call = useLive(api.calls.get, { call_id: callId }).data as Doc<"calls"> | null | undefined;
  const customer = useLive(api.customers.history, call?.customer_id ? { customer_id: call.customer_id, limit: 1 } : "skip").data;
  const outgoing = useLive(api.transfers.outgoing, {}).data as Doc<"transfer_queue">[] | undefined;
  const transcript = useLive(api.transcripts.live, { call_id: callId }).data as Doc<"messages">[] | undefined;
  const hold = useMutation(api.calls.hold);
  const resume = useMutation(api.calls.resume);
  const hangup = useMutation(api.calls.hangup);
  const cancelTransfer = useMutation(api.transfers.cancel);
  const completeTransfer = useMutation(api.transfers.complete);
  const [muted, setMuted] = useState(false);
  const [keypad, setKeypad] = useState(false);
  const [transferOpen, setTransferOpen] = useState(false);
  const [busy, setBusy] = useState(false);

  // A pending transfer that goes away without being accepted was declined (or expired).
  const pendingId = outgoing?.find((t) => t.call_id === callId && t.status === "pending")?._id ?? null;
  const accepted = outgoing?.some((t) => t.call_id === callId && t.status === "accepted") ?? false;
  const lastPending = useRef<string | null>(null);
  const canceled = useRef<string | null>(null);
  useEffect(() => {
    if (outgoing === undefined) return;
    if (lastPending.current && lastPending.current !== canceled.current && !pendingId && !accepted) notify({ text: "Transfer declined: the call stays with you.", tone: "warn" });
    lastPending.current = pendingId;
  }, [pendingId, accepted, outgoing, notify]);

  if (!call) {
    return (
      <Panel title="On call" testid="call-panel">
        <div className="empty">Connecting…</div>
      </Panel>
    );
  }
  const transfer = outgoing?.find((t) => t.call_id === callId);
  const pendingTransfer = transfer?.status === "pending" ? transfer : undefined;
  const state = pendingTransfer ? "transferring" : call.status;
  const device = line.callFor(callId);
  const run = async (what: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await what();
    } catch (e) {
      toast.show(describeError(e), "danger");
    } finally {
      setBusy(false);
    }
  };
  const talkMs = call.answered_at ? now - call.answered_at - call.hold_ms - (call.hold_started_at ? now - call.hold_started_at : 0) : 0;
  const who = customer?.customer;

  return (
    <Panel
      title={call.direction === "inbound" ? "Inbound call" : "Outbound call"}
      testid="call-panel"
      actions={
        <span className={`call-state ${call.status}`} data-testid="call-state" data-value={STATE_LABEL[state] ?? state}>
          {STATE_LABEL[state] ?? state}
        </span>
      }
    >
      <div className="panel-body stack">
        <div>
          <div className="big-number">{who ? who.name : formatPhone(call.phone)}</div>
          <div className="row muted small">
            {who ? formatPhone(call.phone) : call.queue ? `Queue ${call.queue}` : null}
            <TierBadge tier={who?.tier} />
            {muted ? (
              <span className="badge warn" data-testid="muted">
                <Icon name="mute" size={12} /> Muted
              </span>
            ) : null}
          </div>
        </div>
        <div className="row" style={{ gap: 24 }}>
          <div>
            <div className="muted small">Talk</div>
            <div className="timer" data-testid="talk-timer">
              {call.answered_at ? formatDuration(talkMs) : "–"}
            </div>
          </div>
          {call.hold_started_at ? (
            <div>
              <div className="muted small">On hold</div>
              <div className="timer" style={{ color: "var(--warn)" }} data-testid="hold-timer">
                {formatDuration(now - call.hold_started_at)}
              </div>
            </div>
          ) : null}
        </div>
        {call.participants.length > 1 ? (
          <div className="small" data-testid="participants">
            On the line:{" "}
            {call.participants
              .map((p) => (p.role === "supervisor" ? `${people.get(p.agent_id)?.name ?? `Supervisor ${p.agent_id}`} (${p.mode ?? "listening"})` : nameOf(people, p.agent_id)))
              .join(", ")}
          </div>
        ) : null}
        {pendingTransfer ? (
          <div className="notice info" data-testid="transfer-status">
            <span className="grow">
              Transferring to {nameOf(people, pendingTransfer.to_agent_id)} · {Math.max(0, Math.ceil((pendingTransfer.expires_at - now) / 1000))} s
            </span>
            <button className="btn small" onClick={() => {
                canceled.current = pendingTransfer._id;
                void run(() => cancelTransfer({ transfer_id: pendingTransfer._id }));
              }}>
              Cancel
            </button>
          </div>
        ) : null}
        {transfer?.status === "accepted" && transfer.mode === "warm" ? (
          <div className="notice ok">
            <span className="grow">{nameOf(people, transfer.to_agent_id)} joined.</span>
            <button className="btn small primary" onClick={() => run(() => completeTransfer({ transfer_id: transfer._id }))} data-testid="complete-transfer">
              Complete transfer
            </button>
          </div>
        ) : null}
        <div className="controls">
          {call.status === "on_hold" ? (
            <button className="btn active" disabled={busy} onClick={() => run(() => resume({ call_id: callId }))} data-testid="resume">
              Resume
            </button>
          ) : (
            <button className="btn" disabled={busy || call.status !== "in_progress"} onClick={() => run(() => hold({ call_id: callId }))} data-testid="hold">
              Hold
            </button>
          )}
          <button
            className={`btn ${muted ? "active" : ""}`}
            aria-pressed={muted}
            onClick={() => {
              device?.mute(!muted);
              setMuted(!muted);
            }}
            data-testid="mute"
          >
            {muted ? "Unmute" : "Mute"}
          </button>
          <button className={`btn ${keypad ? "active" : ""}`} aria-expanded={keypad} onClick={() => setKeypad(!keypad)}>
            Keypad
          </button>
          <button className="btn" disabled={busy || !!pendingTransfer || call.status === "ringing"} onClick={() => setTransferOpen(true)} data-testid="transfer">
            Transfer
          </button>
          <button
            className="btn danger"
            style={{ gridColumn: "span 2" }}
            disabled={busy}
            onClick={() =>
              run(async () => {
                device?.disconnect();
                await hangup({ call_id: callId });
              })
            }
            data-testid="hangup"
          >
            Hang up
          </button>
        </div>
        {keypad ? (
          <div className="keypad" role="group" aria-label="Keypad">
            {KEYS.map((k) => (
              <button key={k} className="btn" onClick={() => device?.sendDigits(k)} aria-label={`Send ${k}`}>
                {k}
              </button>
            ))}
          </div>
        ) : null}
        {transcript && transcript.length > 0 ? (
          <div className="stack" data-testid="live-transcript" aria-live="polite">
            <h3>Live transcript</h3>
            {transcript.slice(-8).map((m) => (
              <div key={m._id} className="small">
                <b>{m.role === "agent" ? "Agent" : m.role === "customer" || m.role === "user" ? "Caller" : m.role}:</b> {m.text}
              </div>
            ))}
          </div>
        ) : null}
      </div>
      {transferOpen && me ? <TransferDialog callId={callId} onClose={() => setTransferOpen(false)} /> : null}
    </Panel>
  );
}
