/**
 * Who is signed in and where their tokens come from.
 *
 * The console needs one thing from an identity provider: a JWT the reactor server
 * verifies (`sub` = the agent id, `role: "supervisor"` for supervisors, `name`). A
 * {@link TokenSource} produces those tokens; `devTokenSource` asks the development
 * sign-in action for them. A real deployment supplies its own source (e.g. OIDC with PKCE:
 * redirect to the provider, keep the id token, refresh it silently) and configures the
 * server to verify that provider's tokens (docs/call-center.md, "Signing in").
 */
import { ReactorHttpClient } from "reactor-client";
import { api, type Role } from "./model.js";

export interface Session {
  agentId: string;
  name: string;
  role: Role;
}

export interface TokenSource {
  /** A token for the signed-in user; a fresh one when `forceRefreshToken`. */
  fetchToken(args: { forceRefreshToken: boolean }): Promise<string | null>;
}

const STORAGE_KEY = "reactor-console.session";

export function savedSession(): Session | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    return typeof s.agentId === "string" && (s.role === "agent" || s.role === "supervisor") ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else localStorage.removeItem(STORAGE_KEY);
}

/** Tokens from `auth:dev_sign_in` (development deployments only). */
export function devTokenSource(origin: string, session: Session): TokenSource {
  const http = new ReactorHttpClient(origin);
  let cached: { token: string; expiresAt: number } | null = null;
  return {
    async fetchToken({ forceRefreshToken }) {
      if (!forceRefreshToken && cached && cached.expiresAt - Date.now() > 60_000) return cached.token;
      const result = await http.action(api.auth.dev_sign_in, {
        agent_id: session.agentId,
        name: session.name,
        role: session.role,
      });
      cached = { token: result.token as string, expiresAt: result.expires_at as number };
      return cached.token;
    },
  };
}

/** Sign in through the development action: checks the server accepts the request. */
export async function devSignIn(origin: string, agentId: string, name: string, role: Role): Promise<Session> {
  const http = new ReactorHttpClient(origin);
  const result = await http.action(api.auth.dev_sign_in, { agent_id: agentId, name, role });
  const identity = result.identity as { agent_id: string; name: string; role: Role };
  return { agentId: identity.agent_id, name: identity.name, role: identity.role };
}
