// The softphone a test installs in the page (window.__SOFTPHONE__): it speaks the same
// interface as the Twilio Device adapter and records every call the page makes on it in
// window.__softphoneLog. The test rings it with window.__softphoneRing({callId, From}).
(() => {
  const log = [];
  const listeners = {};
  const emit = (event, ...args) => (listeners[event] || []).slice().forEach((fn) => fn(...args));
  const makeCall = (params) => {
    const callListeners = {};
    const callEmit = (event, ...args) => (callListeners[event] || []).slice().forEach((fn) => fn(...args));
    let muted = false;
    const call = {
      parameters: { CallSid: params.CallSid || `CA${Math.random().toString(16).slice(2)}`, From: params.From || "", To: params.To || "" },
      customParameters: new Map(Object.entries(params)),
      accept() { log.push(["accept", params.callId]); callEmit("accept", call); },
      reject() { log.push(["reject", params.callId]); callEmit("reject"); },
      disconnect() { log.push(["disconnect", params.callId]); callEmit("disconnect", call); },
      mute(m) { muted = m; log.push(["mute", m]); },
      isMuted() { return muted; },
      sendDigits(d) { log.push(["sendDigits", d]); },
      on(event, fn) { (callListeners[event] = callListeners[event] || []).push(fn); },
      /** The far end hangs up while ringing. */
      cancel() { callEmit("cancel"); },
    };
    return call;
  };
  window.__softphoneLog = log;
  window.__SOFTPHONE__ = {
    kind: "fake",
    async register() {
      log.push(["register"]);
      // A test sets window.__SOFTPHONE_FAIL__ to see how the page handles a failed registration.
      if (window.__SOFTPHONE_FAIL__) throw new Error("registration refused");
      setTimeout(() => emit("registered"), 0);
    },
    async unregister() { log.push(["unregister"]); emit("unregistered"); },
    updateToken(t) { log.push(["updateToken", t]); },
    async connect({ params }) { log.push(["connect", params]); return makeCall(params); },
    on(event, fn) { (listeners[event] = listeners[event] || []).push(fn); },
    off(event, fn) { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); },
    destroy() { log.push(["destroy"]); },
  };
  window.__softphoneRing = (params) => { const c = makeCall(params); emit("incoming", c); return true; };
  window.__softphoneEmit = (event, ...args) => emit(event, ...args);
})();
