/**
 * Mutations and actions in flight, and when their promises may settle.
 *
 * - A successful mutation is "completed" when its `MutationResponse` arrives, but its
 *   promise resolves only once a Transition at or past its commit timestamp has been
 *   applied ({@link RequestManager.removeCompleted}), so the caller can read its own write.
 * - Failed mutations and all actions settle at once.
 * - After a reconnect every unresolved mutation is sent again, completed ones included:
 *   the server recognises the (session id, request id) pair and replays the recorded
 *   outcome instead of applying the mutation twice. Actions that were already sent fail
 *   (the server makes no exactly-once promise for them); unsent ones are sent.
 *
 * @module
 */
import type {
  ActionRequest,
  ActionResponse,
  MutationRequest,
  MutationResponse,
  RequestId,
  Timestamp,
} from "./protocol.js";
import { functionError, jsonToConvex, type Value } from "./values.js";

interface Pending {
  message: MutationRequest | ActionRequest;
  status: "requested" | "completed";
  sent: boolean;
  ts?: Timestamp;
  result?: Value;
  since: number;
  resolve: (value: Value) => void;
  reject: (error: Error) => void;
}

/** The error an action fails with when the connection drops while it runs. */
export class ConnectionLostError extends Error {
  override name = "ConnectionLostError";
}

export class RequestManager {
  private readonly inflight = new Map<RequestId, Pending>();

  /** Track a request; the promise settles as described in the module comment. */
  request(message: MutationRequest | ActionRequest): Promise<Value> {
    return new Promise<Value>((resolve, reject) => {
      this.inflight.set(message.requestId, {
        message,
        status: "requested",
        sent: false,
        since: Date.now(),
        resolve,
        reject,
      });
    });
  }

  /** Note that a request went out on the current socket. */
  markSent(requestId: RequestId): void {
    const pending = this.inflight.get(requestId);
    if (pending) pending.sent = true;
  }

  /**
   * Handle a response. Returns `{requestId, failed}` for a request we knew about (so the
   * caller can drop a failed mutation's optimistic update), or null for a duplicate.
   */
  onResponse(response: MutationResponse | ActionResponse): { requestId: RequestId; failed: boolean } | null {
    const pending = this.inflight.get(response.requestId);
    // A duplicate response for a request already settled (resent across a reconnect).
    if (pending === undefined || pending.status === "completed") return null;
    const expected = pending.message.type === "Mutation" ? "MutationResponse" : "ActionResponse";
    if (response.type !== expected) return null;
    if (!response.success) {
      this.inflight.delete(response.requestId);
      pending.reject(functionError(String(response.result), response.errorData));
      return { requestId: response.requestId, failed: true };
    }
    const value = jsonToConvex(response.result);
    if (response.type === "ActionResponse") {
      this.inflight.delete(response.requestId);
      pending.resolve(value);
      return { requestId: response.requestId, failed: false };
    }
    if (response.ts === null) {
      // No commit timestamp: nothing to wait for.
      this.inflight.delete(response.requestId);
      pending.resolve(value);
      return { requestId: response.requestId, failed: false };
    }
    pending.status = "completed";
    pending.result = value;
    pending.ts = response.ts;
    return { requestId: response.requestId, failed: false };
  }

  /**
   * Resolve every completed mutation whose commit is visible at `ts`. Returns their ids
   * (their optimistic updates can go now that the server's results include them).
   */
  removeCompleted(ts: Timestamp): Set<RequestId> {
    const done = new Set<RequestId>();
    for (const [id, pending] of this.inflight) {
      if (pending.status === "completed" && pending.ts! <= ts) {
        this.inflight.delete(id);
        pending.resolve(pending.result!);
        done.add(id);
      }
    }
    return done;
  }

  /**
   * A new connection: fail actions already sent and return the requests to send, in
   * request order (mutations apply in order on the server).
   */
  restart(): (MutationRequest | ActionRequest)[] {
    this.failSentActions();
    const resend: (MutationRequest | ActionRequest)[] = [];
    for (const [, pending] of [...this.inflight].sort((a, b) => a[0] - b[0])) {
      pending.sent = false;
      resend.push(pending.message);
    }
    return resend;
  }

  /** The socket closed: fail every action that was sent on it. Returns their ids. */
  failSentActions(): RequestId[] {
    const failed: RequestId[] = [];
    for (const [id, pending] of this.inflight) {
      if (pending.message.type === "Action" && pending.sent) {
        this.inflight.delete(id);
        pending.reject(new ConnectionLostError("Connection lost while action was in flight"));
        failed.push(id);
      }
    }
    return failed;
  }

  /** Reject everything (the client is closing). */
  rejectAll(error: Error): void {
    for (const pending of this.inflight.values()) pending.reject(error);
    this.inflight.clear();
  }

  hasInflightRequests(): boolean {
    return this.inflight.size > 0;
  }

  /** Counts for connection-state reporting. */
  stats(): { mutations: number; actions: number; oldest: number | null } {
    let mutations = 0;
    let actions = 0;
    let oldest: number | null = null;
    for (const p of this.inflight.values()) {
      if (p.message.type === "Mutation") mutations++;
      else actions++;
      if (oldest === null || p.since < oldest) oldest = p.since;
    }
    return { mutations, actions, oldest };
  }
}
