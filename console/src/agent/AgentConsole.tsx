/**
 * The agent's screen at 1280×800: the presence bar on top; the work column (ring card,
 * in-call panel or wrap-up, the dialer, voicemail) on the left; contact tabs in the
 * middle; the SMS inbox on the right. Everything on it is a live query.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { ReactorClient } from "reactor-client";
import { useMutation } from "reactor-client/react";
import { describeError } from "../errors.js";
import { api } from "../model.js";
import type { Session } from "../session.js";
import { LineContext, useLine } from "../softphone/index.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";
import { AgentContext, type Notice, type Person } from "./context.js";
import { ContactTabs } from "./ContactTabs.js";
import { Dialer } from "./Dialer.js";
import { PresenceBar } from "./PresenceBar.js";
import { SmsInbox } from "./SmsInbox.js";
import { Voicemails } from "./Voicemails.js";
import { WorkPanel } from "./WorkPanel.js";

export const NOT_READY = "Not ready";

export function AgentConsole(props: {
  client: ReactorClient;
  session: Session;
  onSignOut: () => void;
  /** Extra header content (the supervisor's view switch). */
  header?: React.ReactNode;
}) {
  const { client, session } = props;
  const toast = useToast();
  const me = useLive(api.agents.me_status, {}).data;
  const directory = useLive(api.console.directory, {}).data as Person[] | undefined;
  const people = useMemo(() => new Map((directory ?? []).map((p) => [p.agent_id, p])), [directory]);
  const [notice, setNotice] = useState<Notice | null>(null);
  const dialMutation = useMutation(api.calls.dial);

  const onDemoConnect = useCallback(
    (params: Record<string, string>) => {
      // The demo line has no far end: the callee "answers" a moment later.
      if (!params.callId) return;
      setTimeout(() => {
        client.action("demo:call_status", { call_id: params.callId, status: "in-progress" }).catch(() => {});
      }, 1500);
    },
    [client],
  );
  // `softphone:token` is for signed-in agents: register once the status row says so.
  const line = useLine(client, !!me && me.status !== "offline", onDemoConnect);

  // Opening the console signs the agent in as Away · Not ready (once per page): the floor
  // sees them, and they choose Available when they are ready for calls.
  const signInOnce = useRef(false);
  const signIn = useMutation(api.agents.sign_in);
  useEffect(() => {
    if (me === undefined || signInOnce.current) return;
    signInOnce.current = true;
    if (me === null || me.status === "offline") {
      void signIn({ name: session.name, status: "away", reason: NOT_READY }).catch(toast.fail);
    }
  }, [me, signIn, session.name, toast]);

  // Presence: a heartbeat every 30 s and whenever the page becomes visible again.
  useEffect(() => {
    const beat = () => void client.mutation(api.agents.heartbeat, {}).catch(() => {});
    const timer = setInterval(beat, 30_000);
    const onVisible = () => document.visibilityState === "visible" && beat();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [client]);

  const dial = useCallback(
    async (to: string, customerId?: string | null) => {
      setNotice(null);
      try {
        const args = customerId ? { to, customer_id: customerId as never } : { to };
        const result = await dialMutation(args);
        if (!result.ok) {
          if (result.code === "dnc") {
            setNotice({ text: `Do-not-call — not dialled (audit #${String(result.audit_id).slice(-6)})`, tone: "danger" });
          } else if (result.code === "quiet_hours") {
            setNotice({ text: `Quiet hours — it is ${result.local_time ?? "outside calling hours"} for the recipient`, tone: "warn" });
          } else {
            setNotice({ text: `Not dialled: ${String(result.code).replace(/_/g, " ")}`, tone: "warn" });
          }
          return;
        }
        if (line.phone) {
          const call = await line.phone.connect({ params: { To: result.phone, callId: result.call_id } });
          line.track(result.call_id, call);
        }
      } catch (e) {
        setNotice({ text: describeError(e), tone: "danger" });
      }
    },
    [dialMutation, line],
  );

  const ctx = useMemo(() => ({ session, me, people, line, dial, notify: setNotice }), [session, me, people, line, dial]);

  return (
    <LineContext.Provider value={line}>
      <AgentContext.Provider value={ctx}>
        <PresenceBar client={client} onSignOut={props.onSignOut} header={props.header} />
        <main className="agent-grid" data-testid="agent-console">
          <div className="col" aria-label="Calls">
            {notice ? (
              <div className={`notice ${notice.tone}`} role="alert" data-testid="work-notice">
                <span className="grow">{notice.text}</span>
                <button className="btn ghost small" onClick={() => setNotice(null)} aria-label="Dismiss notice">
                  ✕
                </button>
              </div>
            ) : null}
            <WorkPanel />
            <Dialer />
            <Voicemails />
          </div>
          <div className="col center">
            <ContactTabs />
          </div>
          <div className="col">
            <SmsInbox />
          </div>
        </main>
      </AgentContext.Provider>
    </LineContext.Provider>
  );
}
