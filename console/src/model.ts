/**
 * The typed api and the shapes of what its queries return (where the functions declare
 * no `returns` validator the generated types say `any`; these say what the page relies on).
 */
import type { Doc, Id } from "./_generated/dataModel";

export { api } from "./_generated/api.js";
export type { Doc, Id };

export type AgentStatus = Doc<"agent_status">["status"];
export type Role = "agent" | "supervisor";

export interface Offer {
  call_id: Id<"calls">;
  kind: "call" | "transfer" | null;
  expires_at: number;
  phone: string;
  queue: string | null;
  customer: Doc<"customers"> | null;
}

export interface InboxThread extends Doc<"sms_threads"> {
  locked_by: string | null;
}

export interface QueueSummary {
  waiting: number;
  ringing: number;
  longest_wait_ms: number;
  average_wait_ms: number;
  queues: Record<string, { waiting: number; longest_wait_ms: number; average_wait_ms: number }>;
}

export interface DayMetrics {
  day: string;
  queued: number;
  answered: number;
  abandoned: number;
  voicemail: number;
  handled: number;
  outbound: number;
  service_level_seconds: number;
  service_level: number | null;
  abandonment_rate: number | null;
  asa_ms: number | null;
  aht_ms: number | null;
  occupancy: number | null;
  max_wait_ms: number;
  score_average: number | null;
}

export interface AgentRow {
  agent_id: string;
  name: string;
  status: AgentStatus;
  reason: string | null;
  call_id: Id<"calls"> | null;
  in_status_ms: number;
  live: boolean;
}

export interface ActiveCallRow extends Doc<"active_calls"> {
  duration_ms: number;
  talk_ms: number;
}

export interface SmsDay {
  day: string;
  sms_in: number;
  sms_out: number;
  sms_blocked: number;
  opt_outs: number;
  opt_ins: number;
}
