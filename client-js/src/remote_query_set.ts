/**
 * What the server has sent on the current WebSocket: one result per query id, all at
 * one {@link StateVersion}.
 *
 * Transitions must chain: a Transition whose `startVersion` is not exactly the current
 * version means a message was lost or reordered, and applying it could mix snapshots, so
 * {@link RemoteQuerySet.transition} throws instead (the client then reconnects).
 *
 * @module
 */
import type { QueryId, StateVersion, Timestamp, Transition } from "./protocol.js";
import { functionError, jsonToConvex, type Value } from "./values.js";

/** One query's latest result from the server. */
export type QueryResult =
  | { type: "value"; value: Value; logLines: string[] }
  | { type: "error"; error: Error; logLines: string[] };

export class RemoteQuerySet {
  private version: StateVersion = { querySet: 0, identity: 0, ts: 0n };
  private readonly results = new Map<QueryId, QueryResult>();
  private readonly journals = new Map<QueryId, string | null>();

  /** Apply one Transition. Throws if it does not start where the last one ended. */
  transition(transition: Transition): void {
    const start = transition.startVersion;
    const v = this.version;
    if (start.querySet !== v.querySet || start.identity !== v.identity || start.ts !== v.ts) {
      throw new Error(
        `invalid start version ${start.querySet}/${start.identity}/${start.ts}, ` +
          `expected ${v.querySet}/${v.identity}/${v.ts}`,
      );
    }
    for (const mod of transition.modifications) {
      switch (mod.type) {
        case "QueryUpdated":
          this.results.set(mod.queryId, { type: "value", value: jsonToConvex(mod.value), logLines: mod.logLines });
          this.journals.set(mod.queryId, mod.journal);
          break;
        case "QueryFailed":
          this.results.set(mod.queryId, {
            type: "error",
            error: functionError(mod.errorMessage, mod.errorData),
            logLines: mod.logLines,
          });
          this.journals.set(mod.queryId, mod.journal);
          break;
        case "QueryRemoved":
          this.results.delete(mod.queryId);
          this.journals.delete(mod.queryId);
          break;
        default:
          throw new Error(`unknown state modification ${JSON.stringify((mod as { type: unknown }).type)}`);
      }
    }
    this.version = transition.endVersion;
  }

  /** Results by query id. */
  remoteResults(): ReadonlyMap<QueryId, QueryResult> {
    return this.results;
  }

  /** The journal the server last sent for a query (sent back when resubscribing). */
  journal(queryId: QueryId): string | null | undefined {
    return this.journals.get(queryId);
  }

  currentVersion(): StateVersion {
    return this.version;
  }

  timestamp(): Timestamp {
    return this.version.ts;
  }
}
