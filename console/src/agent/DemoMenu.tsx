/** Demo traffic for a deployment without Twilio: a caller rings in, a text arrives. */
import { useState } from "react";
import type { ReactorClient } from "reactor-client";
import { api } from "../model.js";
import { useToast } from "../ui/toast.js";

const CALLERS = [
  { phone: "+14155550103", label: "Priya Patel (VIP)" },
  { phone: "+14155550101", label: "Maria Garcia (Spanish)" },
  { phone: "+14155550102", label: "James Wilson" },
  { phone: "+14155550166", label: "Unknown caller" },
];

export function DemoMenu({ client }: { client: ReactorClient }) {
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const run = async (what: () => Promise<unknown>, done: string) => {
    setOpen(false);
    try {
      await what();
      toast.show(done, "ok");
    } catch (e) {
      toast.fail(e);
    }
  };
  return (
    <div style={{ position: "relative" }}>
      <button className="btn small" aria-expanded={open} aria-haspopup="menu" onClick={() => setOpen(!open)}>
        Simulate ▾
      </button>
      {open ? (
        <div className="panel" role="menu" style={{ position: "absolute", right: 0, top: 36, zIndex: 20, width: 240, color: "var(--ink)" }} onKeyDown={(e) => e.key === "Escape" && setOpen(false)}>
          <div className="stack panel-body">
            <h3>Incoming call</h3>
            {CALLERS.map((c) => (
              <button key={c.phone} role="menuitem" className="btn small" onClick={() => run(() => client.action(api.demo.ring, { phone: c.phone }), `${c.label} is calling`)}>
                {c.label}
              </button>
            ))}
            <button role="menuitem" className="btn small" onClick={() => run(() => client.action(api.demo.ring, { phone: "+14155550106", queue: "billing" }), "A billing call is queued")}>
              Billing line: Omar Haddad
            </button>
            <h3>Text message</h3>
            <button role="menuitem" className="btn small" onClick={() => run(() => client.action(api.demo.text_in, { phone: "+14155550102", body: "Any update on my invoice?" }), "A text arrived")}>
              James: “Any update?”
            </button>
            <button role="menuitem" className="btn small" onClick={() => run(() => client.action(api.demo.text_in, { phone: "+14155550102", body: "STOP" }), "James opted out")}>
              James: STOP
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
