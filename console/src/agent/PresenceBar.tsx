/**
 * The presence bar (`data-testid=presence-bar`): status selector (Available, Away with a
 * reason, Sign out), time in status ticking from `status_since`, the softphone's state,
 * the unread SMS badge and the connection to the server.
 */
import { useState, type ReactNode } from "react";
import type { ReactorClient } from "reactor-client";
import { useConnectionState, useMutation } from "reactor-client/react";
import { errorCode } from "../errors.js";
import { api } from "../model.js";
import { useLive } from "../ui/live.js";
import { AWAY_REASONS, STATUS_LABEL, StatusDot, initials } from "../ui/common.js";
import { useToast } from "../ui/toast.js";
import { formatDuration, useNow } from "../time.js";
import { useAgent } from "./context.js";
import { DemoMenu } from "./DemoMenu.js";

function selectValue(status: string | undefined, reason: string | null | undefined): string {
  if (!status || status === "offline") return "offline";
  if (status === "away") return `away:${reason ?? ""}`;
  return status;
}

export function PresenceBar(props: { client: ReactorClient; onSignOut: () => void; header?: ReactNode }) {
  const { me, line, session } = useAgent();
  const toast = useToast();
  const now = useNow();
  const connection = useConnectionState();
  const unread = useLive(api.sms.threads.unread, {}).data;
  const signIn = useMutation(api.agents.sign_in);
  const setStatus = useMutation(api.agents.set_status);
  const signOut = useMutation(api.agents.sign_out);
  const [pending, setPending] = useState(false);

  const status = me?.status;
  const value = selectValue(status, me?.reason);
  const awayReasons = me?.status === "away" && me.reason && !AWAY_REASONS.includes(me.reason) ? [...AWAY_REASONS, me.reason] : AWAY_REASONS;

  const change = async (next: string) => {
    setPending(true);
    try {
      if (next === "signout") {
        if (status && status !== "offline") await signOut({});
        props.onSignOut();
        return;
      }
      const [kind, reason] = next.split(":", 2) as ["available" | "away", string | undefined];
      if (!status || status === "offline") {
        await signIn(kind === "away" ? { name: session.name, status: "away", reason } : { name: session.name, status: "available" });
      } else {
        await setStatus(kind === "away" ? { status: "away", reason } : { status: "available" });
      }
    } catch (e) {
      if (errorCode(e) === "agent_busy") toast.show("You are busy with a call: finish it first.", "danger");
      else toast.fail(e);
    } finally {
      setPending(false);
    }
  };

  const lineChip =
    line.state === "registered" ? (
      <span className="chip good" data-testid="softphone-state" title={line.kind === "local" ? "Demo line: no telephony account is configured" : "Twilio Voice"}>
        softphone: registered{line.kind === "local" ? " (demo line)" : ""}
      </span>
    ) : line.state === "error" ? (
      <span className="chip bad" data-testid="softphone-state" title={line.error ?? ""}>
        softphone: error
      </span>
    ) : (
      <span className="chip warn" data-testid="softphone-state">
        softphone: {line.state}
      </span>
    );

  return (
    <header className="topbar" data-testid="presence-bar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          ☎
        </span>
        Contact Center
      </div>
      {props.header}
      <label className="row">
        <StatusDot status={status ?? "offline"} />
        <span className="sr-only">Status</span>
        <select
          className="input"
          aria-label="Status"
          data-testid="status-select"
          value={value}
          disabled={pending || line.state === "error" || me === undefined}
          onChange={(e) => void change(e.target.value)}
        >
          {status === "offline" || !status ? <option value="offline">Offline</option> : null}
          {status && ["reserved", "on_call", "wrap_up"].includes(status) ? (
            <option value={status} disabled>
              {STATUS_LABEL[status]}
            </option>
          ) : null}
          <option value="available">Available</option>
          <optgroup label="Away">
            {awayReasons.map((r) => (
              <option key={r} value={`away:${r}`}>
                Away · {r}
              </option>
            ))}
          </optgroup>
          <option value="signout">Sign out</option>
        </select>
      </label>
      <span className="num muted" data-testid="time-in-status" aria-label="Time in status">
        {me && me.status !== "offline" ? formatDuration(now - me.status_since) : "–"}
      </span>
      {lineChip}
      <span className="spacer" />
      <DemoMenu client={props.client} />
      <span className="chip" data-testid="unread-badge" aria-label={`${unread?.messages ?? 0} unread text messages`}>
        SMS
        <span className="badge count" data-value={unread?.messages ?? 0}>
          {unread?.messages ?? 0}
        </span>
      </span>
      <span className={`chip ${connection.isWebSocketConnected ? "good" : "bad"}`} data-testid="connection">
        {connection.isWebSocketConnected ? "live" : "reconnecting…"}
      </span>
      <div className="user">
        <span className="avatar" aria-hidden="true">
          {initials(session.name)}
        </span>
        <div>
          <div style={{ fontWeight: 600 }}>{session.name}</div>
          <div className="muted small">{session.role === "supervisor" ? "Supervisor" : "Agent"} · {session.agentId}</div>
        </div>
      </div>
    </header>
  );
}
