/**
 * The sync protocol's messages (Convex's WebSocket protocol), as TypeScript types, with
 * the few conversions the wire needs.
 *
 * Every frame is one JSON object with a `type`. Query ids, versions and request ids are
 * plain numbers; database timestamps (`ts`, `maxObservedTimestamp`) travel as base64 of
 * the u64's 8 little-endian bytes and are `bigint` here. Function arguments travel as a
 * one-element array holding the encoded argument object.
 *
 * Mirrors `reactor/sync/protocol.py`.
 *
 * @module
 */
import { base64Decode, base64Encode, type JSONValue } from "./values.js";

/** A database commit timestamp (nanoseconds). */
export type Timestamp = bigint;
export type QueryId = number;
export type RequestId = number;

/** Where the client's view of the server stands: query set, identity and snapshot. */
export interface StateVersion {
  querySet: number;
  identity: number;
  ts: Timestamp;
}

// -- client → server -----------------------------------------------------------------

export interface Connect {
  type: "Connect";
  sessionId: string;
  connectionCount: number;
  lastCloseReason: string | null;
  maxObservedTimestamp?: Timestamp;
  clientTs: number;
}

export interface AddQuery {
  type: "Add";
  queryId: QueryId;
  udfPath: string;
  args: JSONValue[];
  journal?: string | null;
}

export interface RemoveQuery {
  type: "Remove";
  queryId: QueryId;
}

export interface ModifyQuerySet {
  type: "ModifyQuerySet";
  baseVersion: number;
  newVersion: number;
  modifications: (AddQuery | RemoveQuery)[];
}

export interface MutationRequest {
  type: "Mutation";
  requestId: RequestId;
  udfPath: string;
  args: JSONValue[];
}

export interface ActionRequest {
  type: "Action";
  requestId: RequestId;
  udfPath: string;
  args: JSONValue[];
}

export interface Authenticate {
  type: "Authenticate";
  tokenType: "User" | "Admin" | "None";
  baseVersion: number;
  value?: string;
}

export interface ClientEvent {
  type: "Event";
  eventType: string;
  event: JSONValue;
}

export type ClientMessage =
  | Connect
  | ModifyQuerySet
  | MutationRequest
  | ActionRequest
  | Authenticate
  | ClientEvent;

// -- server → client -----------------------------------------------------------------

export interface QueryUpdated {
  type: "QueryUpdated";
  queryId: QueryId;
  value: JSONValue;
  logLines: string[];
  journal: string | null;
}

export interface QueryFailed {
  type: "QueryFailed";
  queryId: QueryId;
  errorMessage: string;
  logLines: string[];
  journal: string | null;
  errorData?: JSONValue;
}

export interface QueryRemoved {
  type: "QueryRemoved";
  queryId: QueryId;
}

export type StateModification = QueryUpdated | QueryFailed | QueryRemoved;

export interface Transition {
  type: "Transition";
  startVersion: StateVersion;
  endVersion: StateVersion;
  modifications: StateModification[];
  clientClockSkew?: number | null;
  serverTs?: number | null;
}

export interface TransitionChunk {
  type: "TransitionChunk";
  chunk: string;
  partNumber: number;
  totalParts: number;
  transitionId: string;
}

export interface MutationResponse {
  type: "MutationResponse";
  requestId: RequestId;
  success: boolean;
  /** The result value on success, the error message on failure. */
  result: JSONValue;
  ts: Timestamp | null;
  logLines: string[];
  errorData?: JSONValue;
}

export interface ActionResponse {
  type: "ActionResponse";
  requestId: RequestId;
  success: boolean;
  result: JSONValue;
  logLines: string[];
  errorData?: JSONValue;
}

export interface AuthError {
  type: "AuthError";
  error: string;
  baseVersion: number | null;
  authUpdateAttempted?: boolean;
}

export interface FatalError {
  type: "FatalError";
  error: string;
}

export interface Ping {
  type: "Ping";
}

export type ServerMessage =
  | Transition
  | TransitionChunk
  | MutationResponse
  | ActionResponse
  | AuthError
  | FatalError
  | Ping;

// -- conversions ---------------------------------------------------------------------

/** A u64 timestamp as base64 of its 8 little-endian bytes. */
export function encodeTs(ts: Timestamp): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, ts, true);
  return base64Encode(new Uint8Array(view.buffer));
}

/** The inverse of {@link encodeTs}. */
export function decodeTs(text: string): Timestamp {
  const bytes = base64Decode(text);
  if (bytes.length !== 8) throw new Error(`timestamp must be 8 bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

function decodeVersion(raw: any): StateVersion {
  return { querySet: raw.querySet, identity: raw.identity, ts: decodeTs(raw.ts) };
}

/** JSON text of a client message (timestamps encoded). */
export function encodeClientMessage(message: ClientMessage): string {
  if (message.type === "Connect" && message.maxObservedTimestamp !== undefined) {
    return JSON.stringify({ ...message, maxObservedTimestamp: encodeTs(message.maxObservedTimestamp) });
  }
  return JSON.stringify(message);
}

/** Parse a server frame's JSON into a message with `bigint` timestamps. */
export function parseServerMessage(text: string): ServerMessage {
  const raw = JSON.parse(text);
  if (raw === null || typeof raw !== "object" || typeof raw.type !== "string") {
    throw new Error("server message is not an object with a type");
  }
  switch (raw.type) {
    case "Transition":
      return { ...raw, startVersion: decodeVersion(raw.startVersion), endVersion: decodeVersion(raw.endVersion) };
    case "MutationResponse":
      return { ...raw, ts: typeof raw.ts === "string" ? decodeTs(raw.ts) : null };
    case "TransitionChunk":
    case "ActionResponse":
    case "AuthError":
    case "FatalError":
    case "Ping":
      return raw;
    default:
      throw new Error(`unknown server message type ${JSON.stringify(raw.type)}`);
  }
}
