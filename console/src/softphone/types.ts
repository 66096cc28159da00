/**
 * The softphone the console talks to: a small slice of `@twilio/voice-sdk`'s `Device`
 * and `Call`, so the page works the same with the real SDK (production), a local line
 * (demo, no telephony account) or a fake a test installs as `window.__SOFTPHONE__`.
 */

export type SoftphoneEvent = "incoming" | "registered" | "unregistered" | "error" | "tokenWillExpire";
export type CallEvent = "accept" | "cancel" | "disconnect" | "reject";

export interface SoftphoneCall {
  /** Twilio's call parameters (`CallSid`, `From`, `To`...). */
  readonly parameters: Record<string, string>;
  /** What our TwiML passed along (`callId`, `customerId`...). */
  readonly customParameters: Map<string, string>;
  accept(): void;
  reject(): void;
  disconnect(): void;
  mute(muted: boolean): void;
  isMuted(): boolean;
  sendDigits(digits: string): void;
  on(event: CallEvent, listener: (...args: unknown[]) => void): void;
}

export interface Softphone {
  /** What kind of line this is, shown in the presence bar. */
  readonly kind: "twilio" | "local" | "fake";
  register(): Promise<void>;
  unregister(): Promise<void>;
  updateToken(token: string): void;
  connect(options: { params: Record<string, string> }): Promise<SoftphoneCall>;
  on(event: SoftphoneEvent, listener: (...args: unknown[]) => void): void;
  off(event: SoftphoneEvent, listener: (...args: unknown[]) => void): void;
  destroy(): void;
}

/** What `softphone:token` returns. */
export interface SoftphoneToken {
  token: string;
  identity: string;
  expires_at: number;
}

/** A tiny event emitter shared by the adapters. */
export class Emitter<E extends string> {
  private readonly listeners = new Map<E, Set<(...args: unknown[]) => void>>();
  on(event: E, listener: (...args: unknown[]) => void): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
  }
  off(event: E, listener: (...args: unknown[]) => void): void {
    this.listeners.get(event)?.delete(listener);
  }
  emit(event: E, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) listener(...args);
  }
}
