// The dashboard's connection to its server: admin HTTP calls and live admin queries.
//
// The admin key lives in sessionStorage (this tab only) and leaves the page only in an
// `Authorization` header or the sync protocol's `Authenticate` message, never in a URL.
import { ReactorClient, jsonToConvex, convexToJson, type Value, type JSONValue } from "../../client-js/dist/index.js";

const KEY = "reactor.dashboard.adminKey";

export function savedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

/** A request-level failure: `{code, message}` from the server. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface Overview {
  deployment: { project: string; database: string; publishedTs: string; monitorStarted: number };
  tables: TableInfo[];
  functions: FunctionInfo[];
  schema: any;
  lastPush: { changes: string[]; plan: any; report: string } | null;
  push: { phase: string; dryRun: boolean; started: number; pendingIndexes: { table: string; name: string; fields: string[] }[] } | null;
  crons: { name: string; function: string | null; args: JSONValue; schedule: string; nextRun: number | null }[];
  storage: string | null;
}

export interface TableInfo {
  name: string;
  count: number;
  system: boolean;
  inSchema: boolean;
  indexes: { name: string; fields: string[]; system: boolean; state: string }[];
  searchIndexes: { name: string; searchField: string; filterFields: string[] }[];
  document: any;
}

export interface FunctionInfo {
  path: string;
  kind: "query" | "mutation" | "action";
  internal: boolean;
  args: any;
  returns: any;
  doc: string | null;
}

export interface RunResult {
  ok: boolean;
  value?: Value;
  error?: string;
  errorData?: Value;
  logLines: string[];
  durationMs: number;
}

export class Session {
  readonly client: ReactorClient;

  constructor(private readonly key: string) {
    this.client = new ReactorClient(location.origin);
    this.client.setAdminAuth(key);
  }

  /** Check a key against the server; resolves to the overview when it is valid. */
  static async signIn(key: string): Promise<{ session: Session; overview: Overview }> {
    const overview = (await request(key, "GET", "/api/dashboard/overview")) as Overview;
    sessionStorage.setItem(KEY, key);
    return { session: new Session(key), overview };
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  get(path: string): Promise<any> {
    return request(this.key, "GET", path);
  }

  post(path: string, body: unknown): Promise<any> {
    return request(this.key, "POST", path, body);
  }

  overview(): Promise<Overview> {
    return this.get("/api/dashboard/overview");
  }

  /** Run any function (internal ones too) as admin, with its log lines. */
  async run(path: string, args: Record<string, Value>): Promise<RunResult> {
    const started = performance.now();
    const reply = await this.post("/api/function", {
      path,
      args: convexToJson(args),
      format: "convex_encoded_json",
    });
    const durationMs = performance.now() - started;
    const logLines = (reply.logLines ?? []) as string[];
    if (reply.status === "success") return { ok: true, value: jsonToConvex(reply.value), logLines, durationMs };
    const result: RunResult = { ok: false, error: String(reply.errorMessage), logLines, durationMs };
    if (reply.errorData !== undefined) result.errorData = jsonToConvex(reply.errorData);
    return result;
  }

  /** Subscribe to a live admin query; returns the unsubscribe. */
  watch<T>(name: string, args: Record<string, Value>, onValue: (value: T) => void, onError: (error: Error) => void): () => void {
    return this.client.onUpdate(name as any, args as any, (value: unknown) => onValue(value as T), onError);
  }
}

async function request(key: string, method: string, path: string, body?: unknown): Promise<any> {
  const init: RequestInit = {
    method,
    headers: { Authorization: `Convex ${key}`, "Content-Type": "application/json" },
    cache: "no-store",
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError("the server cannot be reached", 0, "Offline");
  }
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(`HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, "BadResponse");
  }
  if (!response.ok) throw new ApiError(String(json?.message ?? `HTTP ${response.status}`), response.status, String(json?.code ?? ""));
  return json;
}
