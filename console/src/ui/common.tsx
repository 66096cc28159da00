/** Small shared pieces: status names and dots, badges, panels. */
import type { ReactNode } from "react";
import type { AgentStatus } from "../model.js";

export const STATUS_LABEL: Record<AgentStatus, string> = {
  offline: "Offline",
  available: "Available",
  reserved: "Ringing",
  on_call: "On call",
  wrap_up: "Wrap-up",
  away: "Away",
};

export const AWAY_REASONS = ["Break", "Lunch", "Training", "Meeting"];

export function StatusDot({ status, label }: { status: string; label?: string }) {
  return <span className={`dot ${status}`} role="img" aria-label={label ?? STATUS_LABEL[status as AgentStatus] ?? status} />;
}

export function TierBadge({ tier }: { tier: string | null | undefined }) {
  if (!tier || tier === "standard") return null;
  return <span className={`badge ${tier}`}>{tier.toUpperCase()}</span>;
}

export function Panel(props: { title: ReactNode; actions?: ReactNode; children: ReactNode; testid?: string; className?: string; label?: string }) {
  return (
    <section className={`panel ${props.className ?? ""}`} data-testid={props.testid} aria-label={props.label}>
      <div className="panel-head">
        <h2>{props.title}</h2>
        {props.actions ? <div className="row">{props.actions}</div> : null}
      </div>
      {props.children}
    </section>
  );
}

export function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((p) => p[0]!.toUpperCase())
    .join("");
}
