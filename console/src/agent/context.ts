/** What every part of the agent console shares: who I am, my status row, names, the line. */
import { createContext, useContext } from "react";
import type { Line } from "../softphone/index.js";
import type { Doc } from "../model.js";
import type { Session } from "../session.js";

export interface Person {
  agent_id: string;
  name: string;
  status: Doc<"agent_status">["status"];
  reason: string | null;
  status_since: number;
  heartbeat_at: number;
  call_id: string | null;
  skills: Record<string, number>;
}

export interface AgentCtx {
  session: Session;
  me: Doc<"agent_status"> | null | undefined;
  people: Map<string, Person>;
  line: Line;
  /** Click-to-dial (checks DNC and double-dial on the server, then connects the line). */
  dial(to: string, customerId?: string | null): Promise<void>;
  /** Show a notice in the work column (`null` clears it). */
  notify(notice: Notice | null): void;
}

export interface Notice {
  text: string;
  tone: "info" | "warn" | "danger" | "ok";
}

export const AgentContext = createContext<AgentCtx | null>(null);

export function useAgent(): AgentCtx {
  const ctx = useContext(AgentContext);
  if (!ctx) throw new Error("useAgent needs <AgentContext.Provider>");
  return ctx;
}

export function nameOf(people: Map<string, Person>, agentId: string | null | undefined): string {
  if (!agentId) return "–";
  return people.get(agentId)?.name ?? agentId;
}
