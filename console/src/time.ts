/** Clocks and formatting: durations tick in the browser from server timestamps. */
import { useEffect, useState } from "react";

/** The current time in ms, re-rendering every `intervalMs` (no server traffic). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** `m:ss`, or `h:mm:ss` past an hour. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** Seconds with one unit, for compact tiles (`42 s`, `3.5 min`). */
export function formatSeconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  const s = ms / 1000;
  if (s < 120) return `${Math.round(s)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${value.toFixed(value >= 99.95 || value === 0 ? 0 : 1)}%`;
}

/** North American numbers as `(415) 555-0101`, others as given. */
export function formatPhone(phone: string | null | undefined): string {
  if (!phone) return "Unknown caller";
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(phone);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : phone;
}

export function formatClock(ms: number | null | undefined): string {
  if (!ms) return "–";
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function formatDate(ms: number | null | undefined): string {
  if (!ms) return "never";
  return new Date(ms).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** `YYYY-MM-DD` (UTC, as the server's daily aggregates) `days` before now. */
export function utcDay(msOrDaysAgo: number, fromMs = Date.now()): string {
  const at = msOrDaysAgo > 10_000 ? msOrDaysAgo : fromMs - msOrDaysAgo * 86_400_000;
  return new Date(at).toISOString().slice(0, 10);
}
