/**
 * reactor's JavaScript client.
 *
 * ```ts
 * import { ReactorClient, api } from "reactor-client";
 * import WebSocket from "ws"; // Node only; browsers have a global WebSocket
 *
 * const client = new ReactorClient("http://127.0.0.1:3210", { webSocketConstructor: WebSocket });
 * const stop = client.onUpdate(api.messages.list, { call_id }, (messages) => render(messages));
 * await client.mutation(api.messages.append, { call_id, role: "user", text: "hi" });
 * ```
 *
 * @module
 */
export { ReactorClient, syncUrl } from "./client.js";
export type { ConnectionState, MutationOptions, ReactorClientOptions, Unsubscribe, Watch } from "./client.js";
export { ReactorHttpClient, ReactorHttpError } from "./http_client.js";
export type { ReactorHttpClientOptions } from "./http_client.js";
export { anyApi, api, canonicalizePath, getFunctionName } from "./api.js";
export type { ArgsOf, FunctionReference, ResultOf } from "./api.js";
export { ReactorError, convexToJson, jsonToConvex } from "./values.js";
export type { JSONValue, Value } from "./values.js";
export { ConnectionLostError } from "./request_manager.js";
export type { OptimisticLocalStore, OptimisticUpdate } from "./optimistic_updates.js";
export type { AuthTokenFetcher } from "./auth.js";
export type { WebSocketConstructor, WebSocketLike } from "./web_socket_manager.js";
