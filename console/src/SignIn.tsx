/**
 * Sign-in. With the development sign-in on (scripts/run), pick a demo person or type an
 * id; the first run offers to load the demo call center. Otherwise the page explains that
 * this deployment signs in through its identity provider.
 */
import { useEffect, useState, type FormEvent } from "react";
import { ReactorHttpClient } from "reactor-client";
import { describeError } from "./errors.js";
import { api, type Role } from "./model.js";
import { devSignIn, type Session } from "./session.js";
import { initials } from "./ui/common.js";

interface Person {
  agent_id: string;
  name: string;
  role: Role;
}

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const origin = window.location.origin;
  const [dev, setDev] = useState<boolean | null>(null);
  const [seeded, setSeeded] = useState<boolean | null>(null);
  const [people, setPeople] = useState<Person[]>([]);
  const [agentId, setAgentId] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("agent");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const refresh = async () => {
    const http = new ReactorHttpClient(origin);
    try {
      const p = await http.action(api.auth.providers, {});
      setDev(Boolean(p.dev));
    } catch (e) {
      setDev(false);
      setError(describeError(e));
    }
    try {
      setSeeded(Boolean((await http.query(api.demo.status, {})).seeded));
    } catch {
      setSeeded(null);
    }
    try {
      setPeople((await http.action(api.demo.roster, {})) as Person[]);
    } catch {
      setPeople([]);
    }
  };
  useEffect(() => {
    void refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const go = async (id: string, display: string, r: Role) => {
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await devSignIn(origin, id, display, r));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!agentId.trim()) {
      setError("Enter your agent id.");
      return;
    }
    void go(agentId.trim(), name.trim() || agentId.trim(), role);
  };
  const loadDemo = async () => {
    setBusy(true);
    try {
      await new ReactorHttpClient(origin).action(api.demo.load, {});
      await refresh();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <div className="panel signin-card stack" data-testid="sign-in">
        <div className="row">
          <div className="brand-mark" aria-hidden="true">
            ☎
          </div>
          <div>
            <h1 style={{ fontSize: 20 }}>Contact Center</h1>
            <div className="muted small">Agent console and supervisor dashboard</div>
          </div>
        </div>
        {dev === false ? (
          <div className="notice info">
            This deployment signs in through its identity provider. Ask your administrator for the sign-in link.
          </div>
        ) : null}
        {dev && seeded === false ? (
          <div className="notice warn" data-testid="first-run">
            <span className="grow">This call center has no queues yet.</span>
            <button className="btn small primary" onClick={loadDemo} disabled={busy}>
              Load demo data
            </button>
          </div>
        ) : null}
        {dev && people.length > 0 ? (
          <>
            <h3>Sign in as</h3>
            <div className="people">
              {people.map((p) => (
                <button key={p.agent_id} className="person" onClick={() => go(p.agent_id, p.name, p.role)} disabled={busy}>
                  <span className="avatar" aria-hidden="true">
                    {initials(p.name)}
                  </span>
                  <span>
                    <b>{p.name}</b>
                    <br />
                    <span className="muted small">{p.role === "supervisor" ? "Supervisor" : "Agent"}</span>
                  </span>
                </button>
              ))}
            </div>
          </>
        ) : null}
        {dev ? (
          <form className="stack" onSubmit={submit} aria-label="Development sign-in">
            <h3>{people.length ? "Or someone else" : "Development sign-in"}</h3>
            <label className="field">
              <span>Agent id</span>
              <input className="input" name="agent_id" value={agentId} onChange={(e) => setAgentId(e.target.value)} autoComplete="username" />
            </label>
            <label className="field">
              <span>Display name</span>
              <input className="input" name="name" value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label className="field">
              <span>Role</span>
              <select className="input" name="role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
                <option value="agent">Agent</option>
                <option value="supervisor">Supervisor</option>
              </select>
            </label>
            <button className="btn primary" type="submit" disabled={busy}>
              Sign in
            </button>
          </form>
        ) : null}
        {error ? (
          <div className="error-text" role="alert">
            {error}
          </div>
        ) : null}
      </div>
    </main>
  );
}
