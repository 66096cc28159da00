/**
 * What the client wants from the server: the set of subscribed queries (each distinct
 * function + arguments once, with a subscriber count) and the auth token, plus the
 * version counters the protocol needs to change them.
 *
 * Every change produces the message to send. Version rules (the server enforces them):
 * each `ModifyQuerySet` goes from `baseVersion` = the previous `newVersion` to one more;
 * each `Authenticate` carries `baseVersion` = the number of `Authenticate`s sent before
 * on this connection. {@link LocalSyncState.restart} starts both counters over for a new
 * connection and re-adds every query with its original id and last journal.
 *
 * @module
 */
import type { AddQuery, Authenticate, ModifyQuerySet, QueryId, RemoveQuery } from "./protocol.js";
import type { RemoteQuerySet } from "./remote_query_set.js";
import { convexToJson, type JSONValue, type Value } from "./values.js";

/** Identifies one distinct (function, arguments) pair: used to dedupe subscriptions. */
export type QueryToken = string;

/** The dedupe key of a query: canonical path plus encoded, key-sorted arguments. */
export function serializePathAndArgs(udfPath: string, args: Record<string, Value>): QueryToken {
  return JSON.stringify({ udfPath, args: convexToJson(args) });
}

interface LocalQuery {
  id: QueryId;
  token: QueryToken;
  udfPath: string;
  args: Record<string, Value>;
  argsJson: JSONValue;
  journal: string | null | undefined;
  subscribers: number;
}

export interface AuthToken {
  tokenType: "User" | "Admin";
  value: string;
}

export class LocalSyncState {
  private nextQueryId = 0;
  private querySetVersion = 0;
  private identityVersion = 0;
  private auth: AuthToken | null = null;
  private readonly queries = new Map<QueryToken, LocalQuery>();
  private readonly tokensById = new Map<QueryId, QueryToken>();

  /**
   * Add a subscriber to a query. Returns its token and, when this is the query's first
   * subscriber, the `ModifyQuerySet` that adds it.
   */
  subscribe(
    udfPath: string,
    args: Record<string, Value>,
    journal?: string | null,
  ): { token: QueryToken; modification: ModifyQuerySet | null } {
    const token = serializePathAndArgs(udfPath, args);
    const existing = this.queries.get(token);
    if (existing !== undefined) {
      existing.subscribers += 1;
      return { token, modification: null };
    }
    const query: LocalQuery = {
      id: this.nextQueryId++,
      token,
      udfPath,
      args,
      argsJson: convexToJson(args),
      journal,
      subscribers: 1,
    };
    this.queries.set(token, query);
    this.tokensById.set(query.id, token);
    return { token, modification: this.modify([this.addOf(query)]) };
  }

  /** Drop one subscriber; returns the `ModifyQuerySet` removing the query after the last. */
  unsubscribe(token: QueryToken): ModifyQuerySet | null {
    const query = this.queries.get(token);
    if (query === undefined) return null;
    query.subscribers -= 1;
    if (query.subscribers > 0) return null;
    this.queries.delete(token);
    this.tokensById.delete(query.id);
    const remove: RemoveQuery = { type: "Remove", queryId: query.id };
    return this.modify([remove]);
  }

  /** Token of a subscribed query id, or undefined once it was unsubscribed. */
  tokenOf(queryId: QueryId): QueryToken | undefined {
    return this.tokensById.get(queryId);
  }

  /** Path and arguments of a subscribed query. */
  queryInfo(token: QueryToken): { udfPath: string; args: Record<string, Value> } | undefined {
    const q = this.queries.get(token);
    return q && { udfPath: q.udfPath, args: q.args };
  }

  subscriberCount(token: QueryToken): number {
    return this.queries.get(token)?.subscribers ?? 0;
  }

  /** Number of distinct subscribed queries. */
  size(): number {
    return this.queries.size;
  }

  /** Remember each query's latest journal, to send back on resubscribe. */
  saveJournals(remote: RemoteQuerySet): void {
    for (const query of this.queries.values()) {
      const journal = remote.journal(query.id);
      if (journal !== undefined) query.journal = journal;
    }
  }

  journalOf(token: QueryToken): string | null | undefined {
    return this.queries.get(token)?.journal;
  }

  /** Set the token; returns the `Authenticate` to send. */
  setAuth(auth: AuthToken): Authenticate {
    this.auth = auth;
    return { type: "Authenticate", tokenType: auth.tokenType, value: auth.value, baseVersion: this.identityVersion++ };
  }

  /** Forget the token; returns the `Authenticate{tokenType:"None"}` to send. */
  clearAuth(): Authenticate {
    this.auth = null;
    return { type: "Authenticate", tokenType: "None", baseVersion: this.identityVersion++ };
  }

  /** Forget the token without telling the server (it rejected the token and closes). */
  dropAuth(): void {
    this.auth = null;
  }

  hasAuth(): boolean {
    return this.auth !== null;
  }

  /** The identity version the server will report once it has applied our last Authenticate. */
  currentIdentityVersion(): number {
    return this.identityVersion;
  }

  currentQuerySetVersion(): number {
    return this.querySetVersion;
  }

  /**
   * Start over on a new connection: the messages that bring a fresh server session to our
   * state (`Authenticate` first when a token is set, then one `ModifyQuerySet` adding
   * every query with its original id and last journal).
   */
  restart(): (Authenticate | ModifyQuerySet)[] {
    this.querySetVersion = 0;
    this.identityVersion = 0;
    const messages: (Authenticate | ModifyQuerySet)[] = [];
    if (this.auth !== null) messages.push(this.setAuth(this.auth));
    if (this.queries.size > 0) {
      messages.push(this.modify([...this.queries.values()].map((q) => this.addOf(q))));
    }
    return messages;
  }

  private addOf(query: LocalQuery): AddQuery {
    const add: AddQuery = { type: "Add", queryId: query.id, udfPath: query.udfPath, args: [query.argsJson] };
    if (query.journal !== undefined) add.journal = query.journal;
    return add;
  }

  private modify(modifications: (AddQuery | RemoveQuery)[]): ModifyQuerySet {
    const base = this.querySetVersion++;
    return { type: "ModifyQuerySet", baseVersion: base, newVersion: base + 1, modifications };
  }
}
