/**
 * `ReactorClient`: a live connection to a reactor server.
 *
 * It wires together the single-purpose parts: {@link LocalSyncState} (what we want),
 * {@link RemoteQuerySet} (what the server sent), {@link OptimisticQueryResults} (what
 * the UI shows), {@link RequestManager} (mutations and actions in flight),
 * {@link WebSocketManager} (the socket) and {@link AuthenticationManager} (tokens).
 *
 * Guarantees:
 * - All query results shown come from one database snapshot: a Transition moves every
 *   query to one timestamp, and listeners hear about it in one synchronous batch.
 * - A mutation's promise resolves only after the results shown include its writes.
 * - Identical subscriptions share one server query.
 * - After a reconnect every query is resubscribed and every unresolved mutation is
 *   resent under its original request id, so the server applies it once. Results from
 *   the old connection stay on screen until the new one has answered every query.
 *
 * @module
 */
import { getFunctionName, type ArgsOf, type FunctionReference, type ResultOf } from "./api.js";
import { AuthenticationManager, type AuthTokenFetcher } from "./auth.js";
import { LocalSyncState, serializePathAndArgs, type QueryToken } from "./local_state.js";
import { OptimisticQueryResults, type Entry, type OptimisticUpdate } from "./optimistic_updates.js";
import type { ClientMessage, ServerMessage, Timestamp, Transition } from "./protocol.js";
import { RemoteQuerySet } from "./remote_query_set.js";
import { RequestManager } from "./request_manager.js";
import { convexToJson, type Value } from "./values.js";
import { WebSocketManager, type WebSocketConstructor } from "./web_socket_manager.js";

export interface ReactorClientOptions {
  /** WebSocket class to use; defaults to `globalThis.WebSocket` (pass `ws`'s in Node < 22). */
  webSocketConstructor?: WebSocketConstructor;
  /** Log connection events to the console. */
  verbose?: boolean;
  /** Cap on the reconnect backoff in ms (default 16000). */
  maxBackoffMs?: number;
  /** Reconnect if the server sends nothing for this long in ms (default 60000; it pings every 15 s). */
  serverInactivityMs?: number;
  /** Refresh auth tokens this many seconds before they expire (default 10). */
  authRefreshLeewaySeconds?: number;
}

export interface ConnectionState {
  isWebSocketConnected: boolean;
  hasEverConnected: boolean;
  connectionCount: number;
  connectionRetries: number;
  hasInflightRequests: boolean;
  inflightMutations: number;
  inflightActions: number;
  timeOfOldestInflightRequest: Date | null;
  isAuthenticated: boolean;
}

/** A live query result: subscribe with `onUpdate`, read with `localQueryResult`. */
export interface Watch<T> {
  /** Subscribe; `callback` runs whenever the result changes. Returns the unsubscribe. */
  onUpdate(callback: () => void): () => void;
  /** The current result: undefined while loading; throws the query's error if it failed. */
  localQueryResult(): T | undefined;
  /** The query's journal (pagination boundaries) as last sent by the server. */
  journal(): string | null | undefined;
}

/** Returned by {@link ReactorClient.onUpdate}: call it (or `.unsubscribe()`) to stop. */
export interface Unsubscribe<T> {
  (): void;
  unsubscribe(): void;
  getCurrentValue(): T | undefined;
}

export interface MutationOptions<Args> {
  optimisticUpdate?: OptimisticUpdate<Args>;
}

/**
 * This client's name and version as it announces itself in the sync URL
 * (`/api/reactor-js-X.Y.Z/sync`): browsers cannot set headers on a WebSocket, and the
 * server sends chunked Transitions only to clients that say they reassemble them.
 */
export const CLIENT_ID = "reactor-js-0.1.0";

/** The URL of the sync endpoint for a deployment address (http(s) or ws(s)). */
export function syncUrl(address: string): string {
  const url = new URL(address);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new Error(`unsupported address ${address}`);
  if (!url.pathname.endsWith("/sync")) url.pathname = `${url.pathname.replace(/\/+$/, "")}/api/${CLIENT_ID}/sync`;
  return url.toString();
}

function randomUuid(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class ReactorClient {
  /** The sync endpoint this client connects to. */
  readonly url: string;
  /** Identifies this client to the server across reconnects (exactly-once mutations). */
  readonly sessionId = randomUuid();

  private readonly localState = new LocalSyncState();
  private remoteQuerySet = new RemoteQuerySet();
  private readonly optimistic = new OptimisticQueryResults();
  private readonly requests = new RequestManager();
  private readonly auth: AuthenticationManager;
  private readonly socket: WebSocketManager;
  private readonly listeners = new Map<QueryToken, Set<() => void>>();
  private readonly connectionListeners = new Set<(state: ConnectionState) => void>();
  private lastConnectionState = "";
  private nextRequestId = 0;
  private maxObservedTs: Timestamp = 0n;
  private visibleTs: Timestamp = 0n;
  // After a reconnect: the versions the server must reach before its results are shown.
  private syncTarget: { querySet: number; identity: number } | null = null;
  private paused = false;
  private pendingUnsubscribes: QueryToken[] = [];
  private outbox: { message: ClientMessage; onSent?: () => void }[] = [];
  private closed = false;
  private readonly onOnline = () => {
    if (this.socket.state() === "waiting") this.socket.reconnectNow("NetworkOnline");
  };

  constructor(address: string, options: ReactorClientOptions = {}) {
    this.url = syncUrl(address);
    const ctor = options.webSocketConstructor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (ctor === undefined) {
      throw new Error("no WebSocket implementation: pass options.webSocketConstructor (e.g. WebSocket from the ws package)");
    }
    this.auth = new AuthenticationManager(
      {
        setToken: (token) => this.send(this.localState.setAuth({ tokenType: "User", value: token })),
        clearToken: () => {
          if (this.localState.hasAuth()) this.send(this.localState.clearAuth());
        },
        pause: () => {
          this.paused = true;
        },
        resume: () => this.resume(),
      },
      options.authRefreshLeewaySeconds ?? 10,
    );
    this.socket = new WebSocketManager(
      this.url,
      ctor,
      {
        onOpen: (info) => this.onOpen(info),
        onMessage: (message) => this.onMessage(message),
        onClose: () => this.onClose(),
      },
      {
        verbose: options.verbose ?? false,
        ...(options.maxBackoffMs !== undefined && { maxBackoffMs: options.maxBackoffMs }),
        ...(options.serverInactivityMs !== undefined && { serverInactivityMs: options.serverInactivityMs }),
      },
    );
    const g = globalThis as { addEventListener?: (name: string, fn: () => void) => void };
    if (typeof g.addEventListener === "function" && typeof (globalThis as any).window !== "undefined") {
      g.addEventListener("online", this.onOnline);
    }
  }

  // -- queries -----------------------------------------------------------------------

  /**
   * Call `callback` with the query's result now (if known) and whenever it changes.
   * `onError` hears the query's error (default: logged). Returns the unsubscribe.
   */
  onUpdate<F extends FunctionReference>(
    query: F,
    args: ArgsOf<F>,
    callback: (result: ResultOf<F>) => void,
    onError?: (error: Error) => void,
  ): Unsubscribe<ResultOf<F>> {
    const watch = this.watchQuery(query, args);
    let active = true;
    let last: unknown = undefined;
    const deliver = () => {
      if (!active) return;
      let value: ResultOf<F> | undefined;
      try {
        value = watch.localQueryResult();
      } catch (error) {
        if (onError) onError(error as Error);
        else console.error(`query ${getFunctionName(query)} failed:`, error);
        return;
      }
      if (value === undefined || value === last) return;
      last = value;
      callback(value);
    };
    const stop = watch.onUpdate(deliver);
    queueMicrotask(deliver);
    const unsubscribe = (() => {
      if (!active) return;
      active = false;
      stop();
    }) as Unsubscribe<ResultOf<F>>;
    unsubscribe.unsubscribe = unsubscribe;
    unsubscribe.getCurrentValue = () => {
      try {
        return watch.localQueryResult();
      } catch {
        return undefined;
      }
    };
    return unsubscribe;
  }

  /** A handle on a query's live result; nothing is subscribed until `onUpdate` is called. */
  watchQuery<F extends FunctionReference>(query: F, args?: ArgsOf<F>, options: { journal?: string | null } = {}): Watch<ResultOf<F>> {
    const udfPath = getFunctionName(query);
    const argsObject = (args ?? {}) as Record<string, Value>;
    const token = serializePathAndArgs(udfPath, argsObject);
    return {
      onUpdate: (callback) => {
        const { modification } = this.localState.subscribe(udfPath, argsObject, options.journal);
        if (modification !== null) this.send(modification);
        let set = this.listeners.get(token);
        if (set === undefined) this.listeners.set(token, (set = new Set()));
        // Wrap so the same callback can be registered twice and removed once.
        const listener = () => callback();
        set.add(listener);
        let done = false;
        return () => {
          if (done) return;
          done = true;
          const current = this.listeners.get(token);
          current?.delete(listener);
          if (current?.size === 0) this.listeners.delete(token);
          this.deferUnsubscribe(token);
        };
      },
      localQueryResult: () => {
        const result = this.optimistic.queryResult(token);
        if (result === undefined) return undefined;
        if (result.type === "error") throw result.error;
        return result.value as ResultOf<F>;
      },
      journal: () => this.localState.journalOf(token),
    };
  }

  /** Run a query once over the socket (subscribe, take the first result, unsubscribe). */
  query<F extends FunctionReference>(query: F, args?: ArgsOf<F>): Promise<ResultOf<F>> {
    return new Promise((resolve, reject) => {
      const unsubscribe = this.onUpdate(
        query,
        (args ?? {}) as ArgsOf<F>,
        (value) => {
          unsubscribe();
          resolve(value);
        },
        (error) => {
          unsubscribe();
          reject(error);
        },
      );
    });
  }

  // -- mutations and actions ---------------------------------------------------------

  /**
   * Run a mutation. Resolves with its result once the query results shown include its
   * writes; rejects with its error (a {@link ReactorError} when it carries data).
   * An `optimisticUpdate` edits local results right away and is rolled back on failure.
   */
  mutation<F extends FunctionReference>(
    mutation: F,
    args?: ArgsOf<F>,
    options: MutationOptions<ArgsOf<F>> = {},
  ): Promise<ResultOf<F>> {
    const udfPath = getFunctionName(mutation);
    const argsObject = (args ?? {}) as ArgsOf<F>;
    const requestId = this.nextRequestId++;
    const message = { type: "Mutation" as const, requestId, udfPath, args: [convexToJson(argsObject as Value)] };
    if (this.closed) return Promise.reject(new Error("the client is closed"));
    if (options.optimisticUpdate) {
      const update = options.optimisticUpdate;
      this.notify(this.optimistic.applyOptimisticUpdate((store) => update(store, argsObject), requestId));
    }
    const result = this.requests.request(message);
    this.send(message, () => this.requests.markSent(requestId));
    this.emitConnectionState();
    return result as Promise<ResultOf<F>>;
  }

  /** Run an action. Rejects with a ConnectionLostError if the socket drops meanwhile. */
  action<F extends FunctionReference>(action: F, args?: ArgsOf<F>): Promise<ResultOf<F>> {
    const udfPath = getFunctionName(action);
    const requestId = this.nextRequestId++;
    const message = { type: "Action" as const, requestId, udfPath, args: [convexToJson((args ?? {}) as Value)] };
    if (this.closed) return Promise.reject(new Error("the client is closed"));
    const result = this.requests.request(message);
    this.send(message, () => this.requests.markSent(requestId));
    this.emitConnectionState();
    return result as Promise<ResultOf<F>>;
  }

  // -- auth --------------------------------------------------------------------------

  /**
   * Authenticate with JWTs from `fetchToken`, refreshed before they expire. Queries and
   * requests wait for the first token. `onChange(true)` once the server accepted it,
   * `onChange(false)` when there is no (valid) token.
   */
  setAuth(fetchToken: AuthTokenFetcher, onChange?: (isAuthenticated: boolean) => void): void {
    void this.auth.setConfig(fetchToken, onChange);
  }

  /**
   * Act as the deployment's admin (dashboards, tools): internal functions become
   * callable. The key travels in the sync protocol's `Authenticate` message, never in
   * the URL. Call it before subscribing to internal queries.
   */
  setAdminAuth(adminKey: string): void {
    this.auth.clear();
    this.send(this.localState.setAuth({ tokenType: "Admin", value: adminKey }));
  }

  /** Sign out: functions see no identity from now on. */
  clearAuth(): void {
    this.auth.clear();
  }

  // -- connection state --------------------------------------------------------------

  connectionState(): ConnectionState {
    const stats = this.requests.stats();
    return {
      isWebSocketConnected: this.socket.state() === "ready",
      hasEverConnected: this.socket.connectionCount() > 0,
      connectionCount: this.socket.connectionCount(),
      connectionRetries: this.socket.connectionRetries(),
      hasInflightRequests: this.requests.hasInflightRequests(),
      inflightMutations: stats.mutations,
      inflightActions: stats.actions,
      timeOfOldestInflightRequest: stats.oldest === null ? null : new Date(stats.oldest),
      isAuthenticated: this.auth.isAuthenticated(),
    };
  }

  /** Hear about connection state changes. Returns the unsubscribe. */
  subscribeToConnectionState(callback: (state: ConnectionState) => void): () => void {
    this.connectionListeners.add(callback);
    return () => this.connectionListeners.delete(callback);
  }

  /** Drop the socket and connect again now (normally automatic). */
  reconnect(): void {
    this.socket.reconnectNow("ClientReconnect");
  }

  /** Close the connection for good; pending requests are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.auth.clear();
    this.socket.stop();
    this.requests.rejectAll(new Error("the client was closed"));
    const g = globalThis as { removeEventListener?: (name: string, fn: () => void) => void };
    if (typeof g.removeEventListener === "function") g.removeEventListener("online", this.onOnline);
    this.emitConnectionState();
  }

  // -- internals ---------------------------------------------------------------------

  private send(message: ClientMessage, onSent?: () => void): void {
    if (this.paused) {
      const item = onSent ? { message, onSent } : { message };
      if (message.type === "Authenticate") {
        // The token goes before the held-back queries and requests it is meant for.
        // Authenticates keep their relative order, so their versions still chain.
        const at = this.outbox.findIndex((m) => m.message.type !== "Authenticate");
        this.outbox.splice(at === -1 ? this.outbox.length : at, 0, item);
      } else {
        this.outbox.push(item);
      }
      return;
    }
    if (this.socket.send(message)) onSent?.();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const outbox = this.outbox;
    this.outbox = [];
    for (const { message, onSent } of outbox) this.send(message, onSent);
  }

  private onOpen(info: { connectionCount: number; lastCloseReason: string | null }): void {
    this.outbox = []; // everything in it is regenerated below
    this.socket.send({
      type: "Connect",
      sessionId: this.sessionId,
      connectionCount: info.connectionCount,
      lastCloseReason: info.lastCloseReason,
      ...(this.maxObservedTs > 0n && { maxObservedTimestamp: this.maxObservedTs }),
      clientTs: Date.now(),
    });
    this.remoteQuerySet = new RemoteQuerySet();
    const restart = this.localState.restart();
    this.syncTarget = {
      querySet: this.localState.currentQuerySetVersion(),
      identity: this.localState.currentIdentityVersion(),
    };
    for (const message of restart) this.send(message);
    for (const message of this.requests.restart()) {
      this.send(message, () => this.requests.markSent(message.requestId));
    }
    this.emitConnectionState();
  }

  private onClose(): void {
    this.requests.failSentActions();
    this.emitConnectionState();
  }

  private onMessage(message: ServerMessage): void {
    switch (message.type) {
      case "Transition":
        this.onTransition(message);
        break;
      case "MutationResponse": {
        if (message.ts !== null) this.observe(message.ts);
        const outcome = this.requests.onResponse(message);
        if (outcome?.failed) this.notify(this.optimistic.dropUpdates([outcome.requestId]));
        else if (outcome !== null && message.ts !== null && message.ts <= this.visibleTs) {
          // A replayed response for a write the shown results already include.
          this.notify(this.optimistic.dropUpdates(this.requests.removeCompleted(this.visibleTs)));
        }
        this.emitConnectionState();
        break;
      }
      case "ActionResponse":
        this.requests.onResponse(message);
        this.emitConnectionState();
        break;
      case "AuthError":
        console.warn(`reactor: authentication failed: ${message.error}`);
        this.localState.dropAuth();
        this.paused = true;
        void this.auth.onAuthError().finally(() => this.resume());
        this.socket.closeAndReconnect("AuthError");
        break;
      case "FatalError":
        console.error(`reactor: the server closed the connection: ${message.error}`);
        this.socket.closeAndReconnect(`FatalError`, 1000);
        break;
      case "Ping":
      case "TransitionChunk":
        break;
    }
  }

  private onTransition(transition: Transition): void {
    try {
      this.remoteQuerySet.transition(transition);
    } catch (error) {
      console.error("reactor: bad Transition, reconnecting:", error);
      this.socket.closeAndReconnect("InvalidTransition", 1000);
      return;
    }
    const version = this.remoteQuerySet.currentVersion();
    this.observe(version.ts);
    if (version.identity === this.localState.currentIdentityVersion() && this.localState.hasAuth()) {
      this.auth.onServerCaughtUp();
      this.emitConnectionState();
    }
    const target = this.syncTarget;
    if (target !== null) {
      // Keep showing the old connection's results until the new one answered everything.
      if (version.querySet < target.querySet || version.identity < target.identity) return;
      this.syncTarget = null;
      this.socket.markSynced();
    }
    this.localState.saveJournals(this.remoteQuerySet);
    const server = new Map<QueryToken, Entry>();
    for (const [queryId, result] of this.remoteQuerySet.remoteResults()) {
      const token = this.localState.tokenOf(queryId);
      const info = token === undefined ? undefined : this.localState.queryInfo(token);
      if (token !== undefined && info !== undefined) server.set(token, { ...info, result });
    }
    this.visibleTs = version.ts;
    const finished = this.requests.removeCompleted(version.ts);
    this.notify(this.optimistic.ingestQueryResultsFromServer(server, finished));
    if (finished.size > 0) this.emitConnectionState();
  }

  /**
   * Drop a subscriber at the end of the current task. A subscriber that comes back in the
   * same task (React re-running an effect, a page list re-rendering) keeps the server
   * query, its result and its journal, instead of a Remove followed by a fresh Add.
   */
  private deferUnsubscribe(token: QueryToken): void {
    this.pendingUnsubscribes.push(token);
    if (this.pendingUnsubscribes.length > 1) return;
    queueMicrotask(() => {
      const tokens = this.pendingUnsubscribes;
      this.pendingUnsubscribes = [];
      for (const t of tokens) {
        const removal = this.localState.unsubscribe(t);
        if (removal !== null) this.send(removal);
      }
    });
  }

  private observe(ts: Timestamp): void {
    if (ts > this.maxObservedTs) this.maxObservedTs = ts;
  }

  /** Call every listener of the changed queries once, in one synchronous batch. */
  private notify(tokens: QueryToken[]): void {
    const calls = new Set<() => void>();
    for (const token of tokens) {
      for (const listener of this.listeners.get(token) ?? []) calls.add(listener);
    }
    for (const listener of calls) {
      try {
        listener();
      } catch (error) {
        console.error("reactor: a query listener threw:", error);
      }
    }
  }

  private emitConnectionState(): void {
    if (this.connectionListeners.size === 0) return;
    const state = this.connectionState();
    const key = JSON.stringify(state);
    if (key === this.lastConnectionState) return;
    this.lastConnectionState = key;
    for (const listener of this.connectionListeners) listener(state);
  }
}

