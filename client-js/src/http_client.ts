/**
 * `ReactorHttpClient`: call functions over plain HTTP (`POST /api/query|mutation|action`),
 * for scripts, servers and anywhere a live socket is not wanted.
 *
 * Mutations from one client run one at a time, in call order. There is no subscription
 * and no exactly-once retry: a failed request is simply reported.
 *
 * @module
 */
import { getFunctionName, type ArgsOf, type FunctionReference, type ResultOf } from "./api.js";
import { convexToJson, functionError, jsonToConvex, type JSONValue, type Value } from "./values.js";

export interface ReactorHttpClientOptions {
  /** `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
}

/** A request-level failure (bad request, unknown function, server error). */
export class ReactorHttpError extends Error {
  override name = "ReactorHttpError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export class ReactorHttpClient {
  readonly address: string;
  private authorization: string | null = null;
  private readonly fetchFn: typeof fetch;
  private mutationQueue: Promise<unknown> = Promise.resolve();

  constructor(address: string, options: ReactorHttpClientOptions = {}) {
    this.address = address.replace(/\/+$/, "");
    const f = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (f === undefined) throw new Error("no fetch implementation: pass options.fetch");
    // Browsers refuse `fetch` called as a method of another object ("Illegal invocation").
    this.fetchFn = options.fetch ?? f.bind(globalThis);
  }

  /** Send this JWT as `Authorization: Bearer` from now on. */
  setAuth(token: string): void {
    this.authorization = `Bearer ${token}`;
  }

  /** Call as the deployment's admin (`Authorization: Convex <key>`): internal functions too. */
  setAdminAuth(adminKey: string): void {
    this.authorization = `Convex ${adminKey}`;
  }

  clearAuth(): void {
    this.authorization = null;
  }

  query<F extends FunctionReference>(query: F, args?: ArgsOf<F>): Promise<ResultOf<F>> {
    return this.call("query", query, args) as Promise<ResultOf<F>>;
  }

  mutation<F extends FunctionReference>(mutation: F, args?: ArgsOf<F>): Promise<ResultOf<F>> {
    const run = () => this.call("mutation", mutation, args);
    const result = this.mutationQueue.then(run, run);
    this.mutationQueue = result.catch(() => undefined);
    return result as Promise<ResultOf<F>>;
  }

  action<F extends FunctionReference>(action: F, args?: ArgsOf<F>): Promise<ResultOf<F>> {
    return this.call("action", action, args) as Promise<ResultOf<F>>;
  }

  private async call(kind: "query" | "mutation" | "action", ref: FunctionReference, args: unknown): Promise<Value> {
    const body = JSON.stringify({
      path: getFunctionName(ref),
      args: convexToJson((args ?? {}) as Value),
      format: "convex_encoded_json",
    });
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.authorization !== null) headers["Authorization"] = this.authorization;
    const response = await this.fetchFn(`${this.address}/api/${kind}`, { method: "POST", headers, body });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ReactorHttpError(`HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, null);
    }
    if (json !== null && typeof json === "object" && typeof json.status === "string") {
      if (json.status === "success") return jsonToConvex(json.value as JSONValue);
      if (json.status === "error") throw functionError(String(json.errorMessage), json.errorData);
    }
    if (!response.ok) {
      throw new ReactorHttpError(String(json?.message ?? `HTTP ${response.status}`), response.status, json?.code ?? null);
    }
    throw new ReactorHttpError(`unexpected response: ${text.slice(0, 200)}`, response.status, null);
  }
}
