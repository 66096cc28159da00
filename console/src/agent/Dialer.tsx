/**
 * Click-to-dial by number. The Call button is disabled (with the reason as its tooltip)
 * when the number is on the do-not-call list, when I am not Available or Away, or when
 * the number is already on a live call.
 */
import { useState, type FormEvent } from "react";
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
    </Panel>
  );
}
