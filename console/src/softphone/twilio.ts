/**
 * The production softphone: `@twilio/voice-sdk`'s `Device`, loaded on demand (its code
 * is a separate chunk, fetched only when a Twilio token was issued).
 */
import type { Softphone, SoftphoneCall, SoftphoneEvent } from "./types.js";

export async function twilioSoftphone(token: string): Promise<Softphone> {
  const { Device } = await import("@twilio/voice-sdk");
  const device = new Device(token, {
    // Close the token gap: the SDK fires tokenWillExpire this long before expiry.
    tokenRefreshMs: 60_000,
    closeProtection: "A call is in progress. Leave the console?",
  });
  const wrap = (call: any): SoftphoneCall => ({
    get parameters() {
      return call.parameters as Record<string, string>;
    },
    get customParameters() {
      return call.customParameters as Map<string, string>;
    },
    accept: () => call.accept(),
    reject: () => call.reject(),
    disconnect: () => call.disconnect(),
    mute: (muted: boolean) => call.mute(muted),
    isMuted: () => Boolean(call.isMuted()),
    sendDigits: (digits: string) => call.sendDigits(digits),
    on: (event, listener) => call.on(event, listener),
  });
  const wrapped = new Map<(...args: unknown[]) => void, (...args: unknown[]) => void>();
  return {
    kind: "twilio",
    register: () => device.register(),
    unregister: () => device.unregister(),
    updateToken: (next: string) => device.updateToken(next),
    async connect({ params }) {
      return wrap(await device.connect({ params }));
    },
    on(event: SoftphoneEvent, listener) {
      const inner = event === "incoming" ? (call: unknown) => listener(wrap(call)) : listener;
      wrapped.set(listener, inner);
      device.on(event, inner as never);
    },
    off(event: SoftphoneEvent, listener) {
      const inner = wrapped.get(listener);
      if (inner) device.off(event, inner as never);
    },
    destroy: () => device.destroy(),
  };
}
