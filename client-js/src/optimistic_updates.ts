/**
 * Optimistic updates: local guesses layered over the server's query results.
 *
 * The visible result of every query is recomputed as "the server's results, then every
 * pending mutation's optimistic update replayed in request order". An update goes away
 * when its mutation's effect is visible in the server's results (resolved) or the
 * mutation fails (rolled back), and the next recomputation simply leaves it out.
 *
 * @module
 */
import { getFunctionName, type ArgsOf, type FunctionReference, type ResultOf } from "./api.js";
import { serializePathAndArgs, type QueryToken } from "./local_state.js";
import type { RequestId } from "./protocol.js";
import type { QueryResult } from "./remote_query_set.js";
import type { Value } from "./values.js";

/** The view of query results an optimistic update reads and edits. */
export interface OptimisticLocalStore {
  /** The current result of a subscribed query, or undefined (loading, failed, unknown). */
  getQuery<F extends FunctionReference>(query: F, args?: ArgsOf<F>): ResultOf<F> | undefined;
  /** Every subscribed query of this function with its arguments and current result. */
  getAllQueries<F extends FunctionReference>(query: F): { args: ArgsOf<F>; value: ResultOf<F> | undefined }[];
  /** Replace a query's result (undefined makes it look loading). */
  setQuery<F extends FunctionReference>(query: F, args: ArgsOf<F>, value: ResultOf<F> | undefined): void;
}

/** A function that edits local query results to show a mutation's expected effect. */
export type OptimisticUpdate<Args = Record<string, Value>> = (localStore: OptimisticLocalStore, args: Args) => void;

/** A query's result together with what it is a result of. */
export interface Entry {
  udfPath: string;
  args: Record<string, Value>;
  result: QueryResult | undefined;
}

/** Structural equality of two values. */
export function valuesEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a instanceof ArrayBuffer || b instanceof ArrayBuffer) {
    if (!(a instanceof ArrayBuffer && b instanceof ArrayBuffer) || a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a);
    const y = new Uint8Array(b);
    return x.every((byte, i) => byte === y[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => valuesEqual((a as any)[k], (b as any)[k]));
}

function resultsEqual(a: QueryResult | undefined, b: QueryResult | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.type !== b.type) return false;
  if (a.type === "error") return a.error === (b as typeof a).error;
  return valuesEqual(a.value, (b as typeof a).value);
}

export class OptimisticQueryResults {
  private server = new Map<QueryToken, Entry>();
  private visible = new Map<QueryToken, Entry>();
  private updates: { requestId: RequestId; apply: (store: OptimisticLocalStore) => void }[] = [];

  /**
   * Take a new set of server results, dropping the updates of `finished` mutations.
   * Returns the tokens whose visible result changed.
   */
  ingestQueryResultsFromServer(server: Map<QueryToken, Entry>, finished: Set<RequestId>): QueryToken[] {
    this.server = server;
    if (finished.size > 0) this.updates = this.updates.filter((u) => !finished.has(u.requestId));
    return this.recompute();
  }

  /** Apply a new mutation's update. Returns the tokens whose visible result changed. */
  applyOptimisticUpdate(apply: (store: OptimisticLocalStore) => void, requestId: RequestId): QueryToken[] {
    this.updates.push({ requestId, apply });
    return this.recompute();
  }

  /** Roll back the updates of failed mutations. Returns the changed tokens. */
  dropUpdates(requestIds: Iterable<RequestId>): QueryToken[] {
    const drop = new Set(requestIds);
    const before = this.updates.length;
    this.updates = this.updates.filter((u) => !drop.has(u.requestId));
    return this.updates.length === before ? [] : this.recompute();
  }

  hasUpdate(requestId: RequestId): boolean {
    return this.updates.some((u) => u.requestId === requestId);
  }

  /** The visible result of a query. */
  queryResult(token: QueryToken): QueryResult | undefined {
    return this.visible.get(token)?.result;
  }

  private recompute(): QueryToken[] {
    const next = new Map(this.server);
    const store = new LocalStore(next);
    for (const update of this.updates) {
      try {
        update.apply(store);
      } catch (error) {
        console.error("optimistic update failed and was skipped:", error);
      }
    }
    const changed: QueryToken[] = [];
    for (const [token, entry] of next) {
      if (!resultsEqual(this.visible.get(token)?.result, entry.result)) changed.push(token);
    }
    for (const [token, entry] of this.visible) {
      if (!next.has(token) && entry.result !== undefined) changed.push(token);
    }
    this.visible = next;
    return changed;
  }
}

class LocalStore implements OptimisticLocalStore {
  constructor(private readonly entries: Map<QueryToken, Entry>) {}

  getQuery(query: FunctionReference, args: Record<string, Value> = {}): any {
    const result = this.entries.get(serializePathAndArgs(getFunctionName(query), args))?.result;
    return result?.type === "value" ? result.value : undefined;
  }

  getAllQueries(query: FunctionReference): { args: any; value: any }[] {
    const path = getFunctionName(query);
    const out: { args: any; value: any }[] = [];
    for (const entry of this.entries.values()) {
      if (entry.udfPath !== path) continue;
      out.push({ args: entry.args, value: entry.result?.type === "value" ? entry.result.value : undefined });
    }
    return out;
  }

  setQuery(query: FunctionReference, args: Record<string, Value>, value: any): void {
    const udfPath = getFunctionName(query);
    const result: QueryResult | undefined = value === undefined ? undefined : { type: "value", value, logLines: [] };
    this.entries.set(serializePathAndArgs(udfPath, args), { udfPath, args, result });
  }
}
