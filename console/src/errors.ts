/** What a refused call means to a person: the server's stable codes in words. */
import { ReactorError } from "reactor-client";

const MESSAGES: Record<string, string> = {
  agent_busy: "You are busy with a call: finish it first.",
  number_busy: "That number is already on a live call.",
  reason_required: "Choose a reason for being away.",
  not_signed_in: "You are signed out. Choose Available to start.",
  thread_locked: "Another agent is replying to this conversation.",
  lock_required: "Take the conversation before replying.",
  forbidden: "You are not allowed to do that.",
  unauthenticated: "Your session ended. Sign in again.",
  missing_placeholder: "Fill in every placeholder first.",
  invalid_phone: "That is not a phone number.",
  no_offer: "That call is no longer ringing for you.",
  call_not_ringing: "The caller is gone.",
  not_in_wrap_up: "Wrap-up already finished.",
  target_unavailable: "That agent is not available.",
  not_waiting: "That call is no longer waiting.",
  invalid_score: "Scores are whole numbers from 1 to 5.",
  call_not_handled: "That call was not handled by an agent.",
  empty_message: "Type a message first.",
  dev_sign_in_disabled: "Development sign-in is off on this server.",
  invalid_agent_id: "Agent ids use a-z, 0-9, '_' or '-'.",
  demo_disabled: "Demo traffic is off on this server.",
  voicemail_not_open: "That voicemail is already done.",
};

/** The `code` of a refusal (`UserError({"code": ...})`), if it is one. */
export function errorCode(error: unknown): string | null {
  if (error instanceof ReactorError && error.data && typeof error.data === "object" && "code" in (error.data as object)) {
    return String((error.data as Record<string, unknown>).code);
  }
  return null;
}

export function errorData(error: unknown): Record<string, unknown> {
  return error instanceof ReactorError && error.data && typeof error.data === "object"
    ? (error.data as Record<string, unknown>)
    : {};
}

export function describeError(error: unknown): string {
  const code = errorCode(error);
  if (code) {
    const data = errorData(error);
    return MESSAGES[code] ?? (typeof data.message === "string" ? data.message : code.replace(/_/g, " "));
  }
  return error instanceof Error ? error.message : String(error);
}
