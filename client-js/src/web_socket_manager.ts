/**
 * The WebSocket's life: connect, reassemble chunked Transitions, notice a silent server,
 * and reconnect with jittered exponential backoff after any close.
 *
 * The manager knows nothing of queries or requests. It reports `onOpen` (the client then
 * sends `Connect` and re-sends its whole state), each parsed message, and `onClose`.
 * Backoff: the first retry waits ~100 ms when the client itself dropped the socket
 * (e.g. the server went silent) and ~1 s when the server closed it or could not be
 * reached; each further failure doubles the wait up to `maxBackoffMs`, each wait is
 * randomised by ±50 %, and the count resets once the client reports the new connection
 * synced ({@link WebSocketManager.markSynced}).
 *
 * @module
 */
import { encodeClientMessage, parseServerMessage, type ClientMessage, type ServerMessage, type Transition } from "./protocol.js";

/** The subset of the WebSocket API the client uses (browsers' and the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: any }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: any) => void) | null;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `WebSocket` from `ws` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface SocketCallbacks {
  /** A socket opened: send `Connect` and the client's state. */
  onOpen(info: { connectionCount: number; lastCloseReason: string | null }): void;
  /** One server message (chunked Transitions arrive reassembled). */
  onMessage(message: ServerMessage): void;
  /** The socket is gone; a reconnect is scheduled unless the manager was stopped. */
  onClose(reason: string): void;
}

export interface SocketOptions {
  /** Cap on the reconnect wait (default 16 s). */
  maxBackoffMs?: number;
  /** Reconnect when nothing arrives from the server for this long (default 60 s). */
  serverInactivityMs?: number;
  /** Log connection events. */
  verbose?: boolean;
}

const OPEN = 1;
const CLIENT_INITIAL_BACKOFF_MS = 100;
const SERVER_INITIAL_BACKOFF_MS = 1000;
// Close codes that are not a server-side failure.
const NORMAL_CLOSE_CODES = new Set([1000, 1001, 1005]);

export type SocketState = "connecting" | "ready" | "waiting" | "stopped";

export class WebSocketManager {
  private socket: WebSocketLike | null = null;
  private socketState: SocketState = "waiting";
  private retries = 0;
  private connections = 0;
  private lastCloseReason: string | null = "InitialConnect";
  private inactivityTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private chunks: { id: string; parts: string[] } | null = null;
  private readonly maxBackoffMs: number;
  private readonly inactivityMs: number;

  constructor(
    private readonly url: string,
    private readonly ctor: WebSocketConstructor,
    private readonly callbacks: SocketCallbacks,
    private readonly options: SocketOptions = {},
  ) {
    this.maxBackoffMs = options.maxBackoffMs ?? 16000;
    this.inactivityMs = options.serverInactivityMs ?? 60000;
    this.connect();
  }

  /** Send a message if the socket is open. Returns whether it went out. */
  send(message: ClientMessage): boolean {
    if (this.socketState !== "ready" || this.socket === null || this.socket.readyState !== OPEN) return false;
    try {
      this.socket.send(encodeClientMessage(message));
      return true;
    } catch (error) {
      this.log("send failed", error);
      return false;
    }
  }

  state(): SocketState {
    return this.socketState;
  }

  /** How many sockets have opened so far. */
  connectionCount(): number {
    return this.connections;
  }

  /** Consecutive failed attempts since the last synced connection. */
  connectionRetries(): number {
    return this.retries;
  }

  /** The current connection caught up with everything the client asked for. */
  markSynced(): void {
    this.retries = 0;
  }

  /** Drop the current socket (if any) and connect again right away. */
  reconnectNow(reason: string): void {
    if (this.socketState === "stopped") return;
    this.dropSocket(reason);
    this.retries = 0;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect();
  }

  /** Close the socket for good. */
  stop(): void {
    if (this.socketState === "stopped") return;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.dropSocket("ClientClosed");
    this.socketState = "stopped";
  }

  private connect(): void {
    if (this.socketState === "stopped") return;
    this.socketState = "connecting";
    let socket: WebSocketLike;
    try {
      socket = new this.ctor(this.url);
    } catch (error) {
      this.log("cannot open a WebSocket", error);
      this.scheduleReconnect("ConnectFailed", SERVER_INITIAL_BACKOFF_MS);
      return;
    }
    this.socket = socket;
    this.chunks = null;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.socketState = "ready";
      this.connections += 1;
      this.resetInactivity();
      this.log(`connected (connection ${this.connections})`);
      this.callbacks.onOpen({ connectionCount: this.connections - 1, lastCloseReason: this.lastCloseReason });
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.resetInactivity();
      let message: ServerMessage | null;
      try {
        message = this.assemble(parseServerMessage(String(event.data)));
      } catch (error) {
        this.log("bad message from the server", error);
        this.closeAndReconnect("BadServerMessage", SERVER_INITIAL_BACKOFF_MS);
        return;
      }
      if (message !== null) this.callbacks.onMessage(message);
    };
    socket.onerror = (event) => {
      this.log("socket error", event?.message ?? "");
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      const serverSide = !NORMAL_CLOSE_CODES.has(event.code);
      const reason = event.reason || (serverSide ? `ServerClosed${event.code}` : "ServerClosed");
      this.closeAndReconnect(reason, serverSide || this.socketState === "connecting" ? SERVER_INITIAL_BACKOFF_MS : CLIENT_INITIAL_BACKOFF_MS);
    };
  }

  /** Close the socket from our side (or note the server closed it) and schedule a retry. */
  closeAndReconnect(reason: string, initialBackoffMs = CLIENT_INITIAL_BACKOFF_MS): void {
    if (this.socketState === "stopped") return;
    this.dropSocket(reason);
    this.scheduleReconnect(reason, initialBackoffMs);
  }

  private dropSocket(reason: string): void {
    if (this.inactivityTimer !== null) clearTimeout(this.inactivityTimer);
    this.inactivityTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return;
    const wasOpen = this.socketState === "ready";
    socket.onopen = socket.onmessage = socket.onclose = null;
    socket.onerror = () => {};
    try {
      socket.close(1000, reason.slice(0, 120));
    } catch {
      // already closed
    }
    this.lastCloseReason = reason;
    this.socketState = "waiting";
    if (wasOpen) {
      this.log(`disconnected: ${reason}`);
      this.callbacks.onClose(reason);
    }
  }

  private scheduleReconnect(reason: string, initialBackoffMs: number): void {
    this.socketState = "waiting";
    this.lastCloseReason = reason;
    const base = Math.min(initialBackoffMs * 2 ** this.retries, this.maxBackoffMs);
    const delay = base * (0.5 + Math.random());
    this.retries += 1;
    this.log(`reconnecting in ${Math.round(delay)} ms (${reason})`);
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private resetInactivity(): void {
    if (this.inactivityTimer !== null) clearTimeout(this.inactivityTimer);
    this.inactivityTimer = setTimeout(() => {
      this.inactivityTimer = null;
      this.log(`no message from the server for ${this.inactivityMs} ms`);
      this.closeAndReconnect("InactiveServer", CLIENT_INITIAL_BACKOFF_MS);
    }, this.inactivityMs);
  }

  /** Reassemble `TransitionChunk`s (sent strictly in order) into their Transition. */
  private assemble(message: ServerMessage): ServerMessage | null {
    if (message.type !== "TransitionChunk") {
      if (this.chunks !== null) throw new Error("message arrived in the middle of a chunked Transition");
      return message;
    }
    if (message.partNumber === 0) {
      if (this.chunks !== null) throw new Error("new chunked Transition before the last one finished");
      this.chunks = { id: message.transitionId, parts: [] };
    }
    const chunks = this.chunks;
    if (chunks === null || chunks.id !== message.transitionId || chunks.parts.length !== message.partNumber) {
      throw new Error("TransitionChunk out of order");
    }
    chunks.parts.push(message.chunk);
    if (chunks.parts.length < message.totalParts) return null;
    this.chunks = null;
    const whole = parseServerMessage(chunks.parts.join(""));
    if (whole.type !== "Transition") throw new Error("chunks did not form a Transition");
    return whole as Transition;
  }

  private log(...parts: unknown[]): void {
    if (this.options.verbose) console.debug("[reactor]", ...parts);
  }
}
