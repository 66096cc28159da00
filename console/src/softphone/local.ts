/**
 * The demo line: a softphone with no audio, for a deployment without a telephony account.
 * It registers at once; an outbound `connect` reports the callee answering a moment later
 * through `onConnect` (the console wires that to the demo's simulated webhook).
 */
import { Emitter, type CallEvent, type Softphone, type SoftphoneCall, type SoftphoneEvent } from "./types.js";

class LocalCall implements SoftphoneCall {
  readonly parameters: Record<string, string>;
  readonly customParameters: Map<string, string>;
  private muted = false;
  private readonly events = new Emitter<CallEvent>();
  constructor(params: Record<string, string>) {
    this.parameters = { ...params };
    this.customParameters = new Map(Object.entries(params));
  }
  accept() {
    this.events.emit("accept", this);
  }
  reject() {
    this.events.emit("reject");
  }
  disconnect() {
    this.events.emit("disconnect", this);
  }
  mute(muted: boolean) {
    this.muted = muted;
  }
  isMuted() {
    return this.muted;
  }
  sendDigits(_digits: string) {}
  on(event: CallEvent, listener: (...args: unknown[]) => void) {
    this.events.on(event, listener);
  }
}

export function localSoftphone(onConnect: (params: Record<string, string>) => void): Softphone {
  const events = new Emitter<SoftphoneEvent>();
  return {
    kind: "local",
    async register() {
      events.emit("registered");
    },
    async unregister() {
      events.emit("unregistered");
    },
    updateToken() {},
    async connect({ params }) {
      const call = new LocalCall(params);
      onConnect(params);
      return call;
    },
    on: (event, listener) => events.on(event, listener),
    off: (event, listener) => events.off(event, listener),
    destroy() {},
  };
}
