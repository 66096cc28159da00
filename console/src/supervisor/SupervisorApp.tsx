/** The supervisor's screens: live floor, history, compliance, quality, and their own console. */
import { useState } from "react";
import type { ReactorClient } from "reactor-client";
import { useConnectionState } from "reactor-client/react";
import { AgentConsole } from "../agent/AgentConsole.js";
import type { Session } from "../session.js";
import { initials } from "../ui/common.js";
import { Compliance } from "./Compliance.js";
import { History } from "./History.js";
import { LiveDashboard } from "./LiveDashboard.js";
import { Scorecards } from "./Scorecards.js";

const VIEWS = [
  { id: "live", label: "Live floor" },
  { id: "history", label: "History" },
  { id: "compliance", label: "Compliance" },
  { id: "quality", label: "Quality" },
  { id: "console", label: "My console" },
] as const;
type View = (typeof VIEWS)[number]["id"];

export function SupervisorApp({ client, session, onSignOut }: { client: ReactorClient; session: Session; onSignOut: () => void }) {
  const [view, setView] = useState<View>(() => (VIEWS.some((v) => `#${v.id}` === location.hash) ? (location.hash.slice(1) as View) : "live"));
  const connection = useConnectionState();
  const go = (v: View) => {
    setView(v);
    history.replaceState(null, "", `#${v}`);
  };
  const nav = (
    <nav className="row" aria-label="Views" role="tablist">
      {VIEWS.map((v) => (
        <button key={v.id} role="tab" aria-selected={view === v.id} className={`btn small ${view === v.id ? "primary" : ""}`} onClick={() => go(v.id)} data-testid={`view-${v.id}`}>
          {v.label}
        </button>
      ))}
    </nav>
  );
  if (view === "console") return <AgentConsole client={client} session={session} onSignOut={onSignOut} header={nav} />;
  return (
    <>
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ☎
          </span>
          Contact Center
        </div>
        {nav}
        <span className="spacer" />
        <span className={`chip ${connection.isWebSocketConnected ? "good" : "bad"}`} data-testid="connection">
          {connection.isWebSocketConnected ? "live" : "reconnecting…"}
        </span>
        <div className="user">
          <span className="avatar" aria-hidden="true">
            {initials(session.name)}
          </span>
          <div>
            <div style={{ fontWeight: 600 }}>{session.name}</div>
            <div className="muted small">Supervisor · {session.agentId}</div>
          </div>
        </div>
        <button className="btn small" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main className="sup">
        {view === "live" ? <LiveDashboard /> : null}
        {view === "history" ? <History /> : null}
        {view === "compliance" ? <Compliance /> : null}
        {view === "quality" ? <Scorecards /> : null}
      </main>
    </>
  );
}
