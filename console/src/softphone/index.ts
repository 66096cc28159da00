/**
 * Which softphone the console uses, and its state as React sees it.
 *
 * 1. a test's fake, when the page finds `window.__SOFTPHONE__`;
 * 2. the Twilio Device, when `softphone:token` issues a token;
 * 3. the demo line, when the server has no telephony account (`softphone:token` is
 *    missing or says Twilio is not configured) — calls then come from the demo actions.
 *
 * A token is refreshed on `tokenWillExpire` with `updateToken`, so the Device never
 * re-registers. Incoming Device calls are kept by the `callId` our TwiML passes along,
 * so the ring card (driven by the server's `agents:my_offer`) can accept the right one.
 */
import { createContext, useContext, useEffect, useMemo, useRef, useState } from "react";
import type { ReactorClient } from "reactor-client";
import { errorCode } from "../errors.js";
import { localSoftphone } from "./local.js";
import { twilioSoftphone } from "./twilio.js";
import type { Softphone, SoftphoneCall, SoftphoneToken } from "./types.js";

export type { Softphone, SoftphoneCall } from "./types.js";

export type LineState = "connecting" | "registered" | "unregistered" | "error";

export interface Line {
  state: LineState;
  kind: Softphone["kind"] | null;
  error: string | null;
  phone: Softphone | null;
  /** The Device call ringing for (or connected to) a server call id. */
  callFor(callId: string): SoftphoneCall | undefined;
  /** Keep an outbound Device call under its server call id. */
  track(callId: string, call: SoftphoneCall): void;
}

declare global {
  interface Window {
    __SOFTPHONE__?: Softphone;
  }
}

const TOKEN_FUNCTION = "softphone:token";
const NOT_CONFIGURED = /not[_ ]configured|twilio_disabled|no_twilio/i;

function isUnconfigured(error: unknown): boolean {
  const code = errorCode(error);
  if (code && NOT_CONFIGURED.test(code)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /not found|could not find|FunctionNotFound|no function/i.test(message) || NOT_CONFIGURED.test(message);
}

async function choose(client: ReactorClient, onDemoConnect: (p: Record<string, string>) => void): Promise<Softphone> {
  const fake = window.__SOFTPHONE__;
  if (fake) {
    // The test's Device gets the same token the real one would (when Twilio is configured).
    try {
      fake.updateToken(((await client.action(TOKEN_FUNCTION, {})) as SoftphoneToken).token);
    } catch (error) {
      if (!isUnconfigured(error)) throw error;
    }
    return fake;
  }
  try {
    const token = (await client.action(TOKEN_FUNCTION, {})) as SoftphoneToken;
    return await twilioSoftphone(token.token);
  } catch (error) {
    if (isUnconfigured(error)) return localSoftphone(onDemoConnect);
    throw error;
  }
}

export function useLine(client: ReactorClient, enabled: boolean, onDemoConnect: (p: Record<string, string>) => void): Line {
  const [state, setState] = useState<LineState>("connecting");
  const [error, setError] = useState<string | null>(null);
  const [phone, setPhone] = useState<Softphone | null>(null);
  const calls = useRef(new Map<string, SoftphoneCall>());
  const demoConnect = useRef(onDemoConnect);
  demoConnect.current = onDemoConnect;

  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let current: Softphone | null = null;
    setState("connecting");
    choose(client, (p) => demoConnect.current(p))
      .then(async (softphone) => {
        if (stopped) return;
        current = softphone;
        softphone.on("registered", () => setState("registered"));
        softphone.on("unregistered", () => setState("unregistered"));
        softphone.on("error", (e) => {
          setError(e instanceof Error ? e.message : String((e as { message?: string })?.message ?? e));
          setState("error");
        });
        softphone.on("incoming", (call) => {
          const c = call as SoftphoneCall;
          const id = c.customParameters.get("callId") ?? c.parameters.CallSid ?? "";
          calls.current.set(id, c);
          const forget = () => calls.current.delete(id);
          c.on("cancel", forget);
          c.on("disconnect", forget);
          c.on("reject", forget);
        });
        softphone.on("tokenWillExpire", () => {
          if (softphone.kind === "local") return;
          void client.action(TOKEN_FUNCTION, {}).then((t) => softphone.updateToken((t as SoftphoneToken).token));
        });
        setPhone(softphone);
        await softphone.register();
      })
      .catch((e: unknown) => {
        if (stopped) return;
        setError(e instanceof Error ? e.message : String(e));
        setState("error");
      });
    return () => {
      stopped = true;
      if (current && current !== window.__SOFTPHONE__) current.destroy();
    };
  }, [client, enabled]);

  return useMemo(
    () => ({
      state,
      kind: phone?.kind ?? null,
      error,
      phone,
      callFor: (callId: string) => calls.current.get(callId),
      track: (callId: string, call: SoftphoneCall) => {
        calls.current.set(callId, call);
        call.on("disconnect", () => calls.current.delete(callId));
      },
    }),
    [state, phone, error],
  );
}

export const LineContext = createContext<Line | null>(null);

export function useLineContext(): Line {
  const line = useContext(LineContext);
  if (!line) throw new Error("useLineContext needs <LineContext.Provider>");
  return line;
}
