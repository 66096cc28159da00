/**
 * User authentication on the socket: fetch a JWT, send it, refresh it before it expires,
 * and report whether the server accepted it.
 *
 * `setAuth(fetchToken)` holds back the client's queries and requests until the first
 * token is known, so nothing runs with the wrong identity. The token's `exp` claim (read
 * from the JWT payload, not verified here) schedules a refresh `leeway` seconds before
 * expiry (or halfway through the token's life, if that is sooner) with
 * `fetchToken({forceRefreshToken: true})`; the fresh token is sent on the live socket.
 * On an `AuthError` from the server the manager fetches a fresh token once more; if that
 * one is rejected too it gives up, clears the token and reports `false`.
 *
 * @module
 */
import { base64Decode } from "./values.js";

/** Returns a JWT, or null/undefined when the user is signed out. */
export type AuthTokenFetcher = (args: { forceRefreshToken: boolean }) => Promise<string | null | undefined>;

/** What the manager needs from the client. */
export interface AuthHooks {
  /** Use this token (send `Authenticate`). */
  setToken(token: string): void;
  /** Stop using a token (send `Authenticate{tokenType:"None"}` if one was sent). */
  clearToken(): void;
  /** Hold back queries and requests until {@link AuthHooks.resume}. */
  pause(): void;
  resume(): void;
}

/** Claims of a JWT (`exp`, `iat`, ...), or null if it is not a readable JWT. */
export function decodeJwtClaims(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const json = new TextDecoder().decode(base64Decode(parts[1]!));
    const claims = JSON.parse(json);
    return claims !== null && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class AuthenticationManager {
  private fetchToken: AuthTokenFetcher | null = null;
  private onChange: ((isAuthenticated: boolean) => void) | null = null;
  private generation = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private awaitingConfirmation = false;
  private retriedAfterError = false;
  private authenticated = false;

  constructor(
    private readonly hooks: AuthHooks,
    private readonly leewaySeconds = 10,
  ) {}

  /** Start using `fetchToken`; `onChange` hears whether the server accepted the token. */
  async setConfig(fetchToken: AuthTokenFetcher, onChange?: (isAuthenticated: boolean) => void): Promise<void> {
    this.cancel();
    const generation = this.generation;
    this.fetchToken = fetchToken;
    this.onChange = onChange ?? null;
    this.hooks.pause();
    try {
      const token = await this.fetch(false);
      if (generation !== this.generation) return;
      if (token) {
        this.use(token);
      } else {
        this.hooks.clearToken();
        this.report(false);
      }
    } finally {
      if (generation === this.generation) this.hooks.resume();
    }
  }

  /** Stop authenticating. */
  clear(): void {
    const had = this.fetchToken !== null;
    this.cancel();
    this.fetchToken = null;
    if (had) {
      this.hooks.clearToken();
      this.report(false);
    }
    this.onChange = null;
    this.hooks.resume();
  }

  /** A Transition showed the server has applied every `Authenticate` we sent. */
  onServerCaughtUp(): void {
    if (this.awaitingConfirmation) {
      this.awaitingConfirmation = false;
      this.retriedAfterError = false;
      this.report(true);
    }
  }

  /** The server rejected our token (it closes the socket next; we reconnect). */
  async onAuthError(): Promise<void> {
    if (this.fetchToken === null) return;
    const generation = this.generation;
    if (this.retriedAfterError) {
      this.clear();
      return;
    }
    this.retriedAfterError = true;
    const token = await this.fetch(true);
    if (generation !== this.generation) return;
    if (token) {
      this.use(token);
    } else {
      this.clear();
    }
  }

  isAuthenticated(): boolean {
    return this.authenticated;
  }

  private use(token: string): void {
    this.awaitingConfirmation = true;
    this.hooks.setToken(token);
    this.scheduleRefresh(token);
  }

  private scheduleRefresh(token: string): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    const claims = decodeJwtClaims(token);
    const exp = claims?.["exp"];
    if (typeof exp !== "number") return;
    const nowSeconds = Date.now() / 1000;
    const iat = typeof claims?.["iat"] === "number" ? (claims["iat"] as number) : nowSeconds;
    const leeway = Math.min(this.leewaySeconds, Math.max(0, (exp - iat) / 2));
    const delayMs = Math.min(Math.max(0, (exp - leeway - nowSeconds) * 1000), MAX_TIMER_MS);
    const generation = this.generation;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refresh(generation);
    }, delayMs);
  }

  private async refresh(generation: number): Promise<void> {
    const token = await this.fetch(true);
    if (generation !== this.generation) return;
    if (token) this.use(token);
    else this.clear();
  }

  private async fetch(forceRefreshToken: boolean): Promise<string | null> {
    const fetchToken = this.fetchToken;
    if (fetchToken === null) return null;
    try {
      return (await fetchToken({ forceRefreshToken })) ?? null;
    } catch (error) {
      console.error("fetching an auth token failed:", error);
      return null;
    }
  }

  private report(isAuthenticated: boolean): void {
    if (this.authenticated === isAuthenticated && isAuthenticated) return;
    this.authenticated = isAuthenticated;
    this.onChange?.(isAuthenticated);
  }

  private cancel(): void {
    this.generation += 1;
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.awaitingConfirmation = false;
    this.retriedAfterError = false;
  }
}
