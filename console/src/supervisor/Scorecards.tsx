/**
 * Quality (`data-testid=scorecard-form`): pick a handled call, grade five categories
 * 1–5 with feedback and coaching notes, and see the agent's cards (human and AI apart).
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "reactor-client/react";
import type { Person } from "../agent/context.js";
import { describeError } from "../errors.js";
import { api, type Doc, type Id } from "../model.js";
import { formatDate, formatDuration, formatPhone } from "../time.js";
import { Panel } from "../ui/common.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";
import { Performance } from "./Performance.js";

const CATEGORIES = [
  ["greeting", "Greeting"],
  ["product_knowledge", "Product knowledge"],
  ["problem_resolution", "Problem resolution"],
  ["professionalism", "Professionalism"],
  ["closing", "Closing"],
] as const;
type Category = (typeof CATEGORIES)[number][0];

interface HandledCall {
  call_id: Id<"calls">;
  agent_id: string;
  phone: string;
  customer_name: string | null;
  direction: string;
  created_at: number;
  answered_at: number;
  ended_at: number | null;
  disposition: string | null;
}

export function Scorecards() {
  const calls = (useLive(api.console.handled_calls, { days: 14 }).data ?? []) as HandledCall[];
  const people = (useLive(api.console.directory, {}).data ?? []) as Person[];
  const names = new Map(people.map((p) => [p.agent_id, p.name]));
  const [filter, setFilter] = useState("");
  const [callId, setCallId] = useState<string>("");
  const shown = calls.filter((c) => {
    const q = filter.trim().toLowerCase();
    return !q || [names.get(c.agent_id) ?? c.agent_id, c.customer_name ?? "", c.phone, new Date(c.created_at).toISOString().slice(0, 10)].some((s) => s.toLowerCase().includes(q));
  });
  const call = calls.find((c) => c.call_id === callId);
  return (
    <div className="sup-grid" style={{ gridTemplateColumns: "minmax(0, 1fr) minmax(0, 1.2fr)" }}>
      <Panel title="Handled calls" actions={<input className="input" placeholder="Agent, customer or date" aria-label="Search calls" value={filter} onChange={(e) => setFilter(e.target.value)} />}>
        {shown.length === 0 ? <div className="empty">No handled calls in the last two weeks.</div> : null}
        <table className="grid">
          <tbody>
            {shown.slice(0, 50).map((c) => (
              <tr key={c.call_id} data-testid="handled-call" aria-selected={c.call_id === callId}>
                <td>
                  <b>{c.customer_name ?? formatPhone(c.phone)}</b>
                  <div className="muted small">{formatDate(c.created_at)}</div>
                </td>
                <td>{names.get(c.agent_id) ?? c.agent_id}</td>
                <td className="num">{c.ended_at ? formatDuration(c.ended_at - c.answered_at) : "live"}</td>
                <td className="actions">
                  <button className={`btn small ${c.call_id === callId ? "primary" : ""}`} onClick={() => setCallId(c.call_id)} aria-pressed={c.call_id === callId}>
                    Grade
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Panel>
      {call ? <ScoreForm call={call} agentName={names.get(call.agent_id) ?? call.agent_id} key={call.call_id} /> : <Panel title="Scorecard"><div className="empty">Choose a call to grade.</div></Panel>}
    </div>
  );
}

function ScoreForm({ call, agentName }: { call: HandledCall; agentName: string }) {
  const toast = useToast();
  const create = useMutation(api.scorecards.create);
  const cards = useLive(api.scorecards.for_agent, { agent_id: call.agent_id, limit: 10 }).data as { cards: Doc<"scorecards">[] } | undefined;
  const transcript = useLive(api.transcripts.for_call, { call_id: call.call_id }).data as { text?: string } | null | undefined;
  const [scores, setScores] = useState<Partial<Record<Category, number>>>({});
  const [feedback, setFeedback] = useState("");
  const [coaching, setCoaching] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const missing = CATEGORIES.filter(([k]) => scores[k] === undefined).map(([, label]) => label);
    if (missing.length) {
      setError(`Score every category: ${missing.join(", ")}.`);
      return;
    }
    setError(null);
    setBusy(true);
    try {
      await create({ call_id: call.call_id, ...(scores as Record<Category, number>), feedback, coaching_notes: coaching });
      toast.show("Scorecard saved", "ok");
      setScores({});
      setFeedback("");
      setCoaching("");
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  const human = (cards?.cards ?? []).filter((c) => c.source === "human");
  const ai = (cards?.cards ?? []).filter((c) => c.source === "ai");

  return (
    <div className="stack" style={{ gap: 14 }}>
      <Panel title={`Scorecard · ${agentName}`} testid="scorecard-form">
        <form className="panel-body stack" onSubmit={submit} noValidate>
          <div className="muted small">
            {call.customer_name ?? formatPhone(call.phone)} · {call.direction} · {formatDate(call.created_at)}
            {call.disposition ? ` · ${call.disposition}` : ""}
          </div>
          {transcript?.text ? <div className="small" style={{ maxHeight: 90, overflow: "auto", background: "#fafbfd", padding: 8, borderRadius: 8 }}>{transcript.text}</div> : <div className="muted small">No recording or transcript for this call.</div>}
          <div className="scores" role="group" aria-label="Scores">
            <span />
            {[1, 2, 3, 4, 5].map((n) => (
              <span key={n} className="hdr">
                {n}
              </span>
            ))}
            {CATEGORIES.map(([key, label]) => (
              <fieldset key={key} className="score-row" data-testid={`score-${key}`}>
                <legend style={{ display: "contents" }}>
                  <span>{label}</span>
                </legend>
                {[1, 2, 3, 4, 5].map((n) => (
                  <label key={n} className="radio">
                    <input type="radio" name={key} value={n} checked={scores[key] === n} onChange={() => {
                        setScores({ ...scores, [key]: n });
                        setError(null);
                      }} aria-label={`${label}: ${n}`} />
                    {n}
                  </label>
                ))}
              </fieldset>
            ))}
          </div>
          <label className="field">
            <span>Feedback</span>
            <textarea className="input" rows={2} value={feedback} onChange={(e) => setFeedback(e.target.value)} data-testid="score-feedback" />
          </label>
          <label className="field">
            <span>Coaching notes</span>
            <textarea className="input" rows={2} value={coaching} onChange={(e) => setCoaching(e.target.value)} />
          </label>
          {error ? (
            <div className="error-text" role="alert" data-testid="score-error">
              {error}
            </div>
          ) : null}
          <button className="btn primary" type="submit" disabled={busy} data-testid="score-submit">
            Submit scorecard
          </button>
        </form>
      </Panel>
      <Performance agentId={call.agent_id} agentName={agentName} />
      <Panel title={`${agentName}'s scorecards`} testid="agent-scorecards">
        <div className="sup-grid" style={{ gridTemplateColumns: "1fr 1fr", padding: 14 }}>
          <div className="stack">
            <h3>Supervisors</h3>
            {human.length === 0 ? <div className="muted small">None yet.</div> : null}
            {human.map((c) => (
              <div key={c._id} className="small" data-testid="scorecard">
                <b>{c.average.toFixed(1)}</b> · {formatDate(c.created_at)} · {c.feedback || <span className="muted">no feedback</span>}
              </div>
            ))}
          </div>
          <div className="stack">
            <h3>AI grading</h3>
            {ai.length === 0 ? <div className="muted small">None yet.</div> : null}
            {ai.map((c) => (
              <div key={c._id} className="small">
                <b>{c.average.toFixed(1)}</b> · {c.reviewer_id.replace(/^ai:/, "")} · {c.feedback}
              </div>
            ))}
          </div>
        </div>
      </Panel>
    </div>
  );
}
