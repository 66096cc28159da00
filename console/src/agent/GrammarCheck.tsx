/**
 * "Check grammar" for an SMS draft (`ai/grammar:suggest`): suggestions come back as spans
 * of the unchanged draft and show as an inline diff; nothing changes without a click on
 * Accept. Editing the draft drops the suggestions (their offsets no longer hold).
 */
import { useEffect, useState } from "react";
import { useReactor } from "reactor-client/react";
import { describeError } from "../errors.js";
import type { Id } from "../model.js";

interface Suggestion {
  start: number;
  end: number;
  original: string;
  replacement: string;
  reason?: string;
}

const SUGGEST = "ai/grammar:suggest";

export function useGrammar(threadId: Id<"sms_threads">, text: string, setText: (t: string) => void) {
  const client = useReactor();
  const [suggestions, setSuggestions] = useState<Suggestion[] | null>(null);
  const [base, setBase] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (base !== null && text !== base) {
      setSuggestions(null);
      setBase(null);
    }
  }, [text, base]);

  const check = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = (await client.action(SUGGEST, { thread_id: threadId, draft: text })) as { text: string; suggestions: Suggestion[] };
      setBase(result.text);
      setSuggestions(result.suggestions.map((s) => ({ ...s, start: Number(s.start), end: Number(s.end) })));
    } catch (e) {
      const message = describeError(e);
      setError(/not found|could not find|no function/i.test(message) ? "Grammar check is not available on this server." : message);
    } finally {
      setBusy(false);
    }
  };
  const accept = (i: number) => {
    if (!suggestions || base === null) return;
    const s = suggestions[i]!;
    const next = base.slice(0, s.start) + s.replacement + base.slice(s.end);
    const delta = s.replacement.length - (s.end - s.start);
    const rest = suggestions.filter((_, j) => j !== i).map((o) => (o.start >= s.end ? { ...o, start: o.start + delta, end: o.end + delta } : o));
    setBase(next);
    setSuggestions(rest.length ? rest : null);
    setText(next);
  };
  const reject = (i: number) => {
    const rest = (suggestions ?? []).filter((_, j) => j !== i);
    setSuggestions(rest.length ? rest : null);
  };
  return { suggestions, error, busy, check, accept, reject, base };
}

export function GrammarPanel({ g }: { g: ReturnType<typeof useGrammar> }) {
  if (g.error) return <div className="notice warn small">{g.error}</div>;
  if (!g.suggestions || g.base === null) return null;
  return (
    <div className="panel" data-testid="grammar">
      <div className="panel-body stack">
        {g.suggestions.map((s, i) => (
          <div key={`${s.start}-${s.original}`} className="spread small diff" data-testid="grammar-suggestion">
            <span className="grow">
              …{g.base!.slice(Math.max(0, s.start - 20), s.start)}
              <del>{s.original}</del>
              <ins>{s.replacement}</ins>
              {g.base!.slice(s.end, s.end + 20)}…{s.reason ? <span className="muted"> · {s.reason}</span> : null}
            </span>
            <button className="btn small primary" onClick={() => g.accept(i)}>
              Accept
            </button>
            <button className="btn small" onClick={() => g.reject(i)}>
              Reject
            </button>
          </div>
        ))}
      </div>
    </div>
  );
}
