/** Short-lived notices in the corner (`role=status`, so screen readers hear them). */
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { describeError } from "../errors.js";

type Tone = "info" | "ok" | "danger";
interface Toast {
  id: number;
  text: string;
  tone: Tone;
}
interface Toaster {
  show(text: string, tone?: Tone): void;
  /** Show what went wrong with a call to the server. */
  fail(error: unknown): void;
}

const ToastContext = createContext<Toaster>({ show() {}, fail() {} });

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const show = useCallback((text: string, tone: Tone = "info") => {
    const id = Date.now() + Math.random();
    setToasts((t) => [...t.slice(-3), { id, text, tone }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 6000);
  }, []);
  const toaster = useMemo(() => ({ show, fail: (e: unknown) => show(describeError(e), "danger") }), [show]);
  return (
    <ToastContext.Provider value={toaster}>
      {children}
      <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
        {toasts.map((t) => (
          <div key={t.id} className={`toast ${t.tone}`}>
            {t.text}
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export const useToast = () => useContext(ToastContext);
