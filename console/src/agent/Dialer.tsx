/**
 * Click-to-dial by number. The Call button is disabled (with the reason as its tooltip)
 * when the number is on the do-not-call list, when I am not Available or Away, or when
 * the number is already on a live call.
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "reactor-client/react";
import { describeError } from "../errors.js";
import { formatPhone } from "../time.js";
import type { Doc, Id } from "../model.js";
import { api } from "../model.js";
import { Panel } from "../ui/common.js";
import { useLive } from "../ui/live.js";
import { useAgent } from "./context.js";
import { Icon } from "../ui/icons.js";

export function useCallBlock(phone: string | null | undefined): string | null {
  const { me } = useAgent();
  const valid = !!phone && phone.replace(/\D/g, "").length >= 7;
  const dnc = useLive(api.sms.compliance.status, valid ? { phone: phone! } : "skip").data;
  if (!valid) return "Enter a phone number";
  if (!me || (me.status !== "available" && me.status !== "away")) return "You can dial when you are Available or Away";
  if (dnc?.voice) return "This number is on the do-not-call list";
  return null;
}

export function CallButton({ phone, customerId, label = "Call" }: { phone: string; customerId?: string | null; label?: string }) {
  const { dial } = useAgent();
  const block = useCallBlock(phone);
  const [busy, setBusy] = useState(false);
  return (
    <span title={block ?? `Call ${phone}`}>
      <button
        className="btn primary small"
        disabled={!!block || busy}
        aria-disabled={!!block}
        aria-label={block ? `${label} (unavailable: ${block})` : `${label} ${phone}`}
        data-testid="call-button"
        onClick={async () => {
          setBusy(true);
          await dial(phone, customerId);
          setBusy(false);
        }}
      >
        <Icon name="phone" size={13} /> {label}
      </button>
    </span>
  );
}

interface Campaign {
  _id: Id<"campaigns">;
  name: string;
  max_attempts: number;
}

/** Next Call: the campaign's next due lead (name, number, attempt n of max, last outcome), then dial it. */
function NextCall() {
  const { me, line, notify } = useAgent();
  const campaigns = (useLive(api.console.campaigns, {}).data ?? []) as Campaign[];
  const [chosen, setChosen] = useState<string>("");
  const campaign = campaigns.find((c) => c._id === chosen) ?? campaigns[0];
  const next = useLive(api.campaigns.pending, campaign ? { campaign_id: campaign._id, limit: 1 } : "skip").data as Doc<"call_queue">[] | undefined;
  const nextCall = useMutation(api.campaigns.next_call);
  const lead = next?.[0];
  const idle = me && (me.status === "available" || me.status === "away");
  if (!campaign) return null;
  const go = async () => {
    notify(null);
    try {
      const result = await nextCall({ campaign_id: campaign._id });
      if (!result.ok) {
        notify({ text: result.code === "queue_empty" ? "No leads due." : `Not dialled: ${String(result.code).replace(/_/g, " ")}`, tone: "info" });
        return;
      }
      if (line.phone) {
        const call = await line.phone.connect({ params: { To: result.phone, callId: result.call_id, leadId: result.lead_id } });
        line.track(result.call_id, call);
      }
    } catch (e) {
      notify({ text: describeError(e), tone: "danger" });
    }
  };
  return (
    <div className="panel-body stack" style={{ borderTop: "1px solid var(--line)" }} data-testid="next-call">
      <div className="spread">
        <h3>Next call</h3>
        {campaigns.length > 1 ? (
          <select className="input" aria-label="Campaign" value={campaign._id} onChange={(e) => setChosen(e.target.value)}>
            {campaigns.map((c) => (
              <option key={c._id} value={c._id}>
                {c.name}
              </option>
            ))}
          </select>
        ) : (
          <span className="muted small">{campaign.name}</span>
        )}
      </div>
      {lead ? (
        <div className="spread small">
          <span>
            <b>{lead.name}</b> · {formatPhone(lead.phone)}
            <br />
            <span className="muted">
              attempt {lead.attempts + 1} of {campaign.max_attempts}
              {lead.outcome ? ` · last: ${lead.outcome.replace(/_/g, " ")}` : ""}
            </span>
          </span>
          <button className="btn primary small" disabled={!idle} title={idle ? "Dial the next lead" : "You can dial when you are Available or Away"} onClick={() => void go()}>
            Next call
          </button>
        </div>
      ) : (
        <div className="muted small">No leads due.</div>
      )}
    </div>
  );
}

export function Dialer() {
  const { dial } = useAgent();
  const [number, setNumber] = useState("");
  const block = useCallBlock(number);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!block) await dial(number);
  };
  return (
    <Panel title="Dial" testid="dialer">
      <form className="panel-body row" onSubmit={submit}>
        <label className="grow">
          <span className="sr-only">Phone number</span>
          <input className="input" style={{ width: "100%" }} placeholder="(415) 555-0100" value={number} onChange={(e) => setNumber(e.target.value)} inputMode="tel" data-testid="dial-number" />
        </label>
        <span title={block ?? "Call"}>
          <button className="btn primary" type="submit" disabled={!!block} data-testid="dial">
            Call
          </button>
        </span>
      </form>
      <NextCall />
    </Panel>
  );
}
