/** Signed out: the sign-in page. Signed in: the agent console, or the supervisor's views. */
import { useEffect, useState } from "react";
import type { ReactorClient } from "reactor-client";
import { AgentConsole } from "./agent/AgentConsole.js";
import { devTokenSource, saveSession, savedSession, type Session } from "./session.js";
import { SignIn } from "./SignIn.js";
import { SupervisorApp } from "./supervisor/SupervisorApp.js";

export function App({ client }: { client: ReactorClient }) {
  const [session, setSession] = useState<Session | null>(() => savedSession());
  const [authed, setAuthed] = useState<boolean | null>(null);

  useEffect(() => {
    if (!session) {
      client.clearAuth();
      setAuthed(null);
      return;
    }
    const source = devTokenSource(window.location.origin, session);
    client.setAuth((args) => source.fetchToken(args), setAuthed);
  }, [client, session]);

  const signIn = (s: Session) => {
    saveSession(s);
    setSession(s);
  };
  const signOut = () => {
    saveSession(null);
    setSession(null);
  };

  if (!session) return <SignIn onSignedIn={signIn} />;
  if (authed === false) {
    return (
      <div className="signin">
        <div className="panel signin-card stack" role="alert">
          <h1>Session ended</h1>
          <p className="muted">The server did not accept your sign-in. Sign in again.</p>
          <button className="btn primary" onClick={signOut}>
            Sign in again
          </button>
        </div>
      </div>
    );
  }
  return session.role === "supervisor" ? (
    <SupervisorApp client={client} session={session} onSignOut={signOut} />
  ) : (
    <AgentConsole client={client} session={session} onSignOut={signOut} />
  );
}
