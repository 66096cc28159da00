/** Transfer a live call: warm or cold, to a named available agent or the best one with a skill. */
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useMutation } from "reactor-client/react";
import { describeError } from "../errors.js";
import { api, type Id } from "../model.js";
import { StatusDot, STATUS_LABEL } from "../ui/common.js";
import { useAgent } from "./context.js";

export function TransferDialog({ callId, onClose }: { callId: Id<"calls">; onClose: () => void }) {
  const { people, session } = useAgent();
  const request = useMutation(api.transfers.request);
  const ref = useRef<HTMLDialogElement>(null);
  const [mode, setMode] = useState<"warm" | "cold">("warm");
  const [target, setTarget] = useState("");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const others = [...people.values()].filter((p) => p.agent_id !== session.agentId && p.status !== "offline");
  const skills = [...new Set(others.flatMap((p) => Object.keys(p.skills)))].sort();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!target) {
      setError("Choose who to transfer to.");
      return;
    }
    try {
      if (target.startsWith("skill:")) await request({ call_id: callId, mode, required_skills: { [target.slice(6)]: 1 } });
      else await request({ call_id: callId, mode, to_agent_id: target });
      onClose();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="transfer-title" data-testid="transfer-dialog">
      <form className="stack panel-body" onSubmit={submit}>
        <h2 id="transfer-title">Transfer call</h2>
        <fieldset className="row" style={{ border: 0, padding: 0 }}>
          <legend className="sr-only">Transfer type</legend>
          {(["warm", "cold"] as const).map((m) => (
            <label key={m} className="row">
              <input type="radio" name="mode" checked={mode === m} onChange={() => setMode(m)} />
              {m === "warm" ? "Warm (talk first)" : "Cold (hand over)"}
            </label>
          ))}
        </fieldset>
        <label className="field">
          <span>To</span>
          <select className="input" size={8} value={target} onChange={(e) => setTarget(e.target.value)} style={{ height: "auto" }}>
            {others.map((p) => (
              <option key={p.agent_id} value={p.agent_id} disabled={p.status !== "available"}>
                {p.name} — {STATUS_LABEL[p.status]} · {Object.entries(p.skills).map(([s, l]) => `${s} ${l}`).join(", ") || "no skills"}
              </option>
            ))}
            {skills.map((s) => (
              <option key={s} value={`skill:${s}`}>
                Best available agent for “{s}”
              </option>
            ))}
          </select>
        </label>
        <div className="small muted row">
          <StatusDot status="available" /> only available agents can take a transfer
        </div>
        {error ? (
          <div className="error-text" role="alert">
            {error}
          </div>
        ) : null}
        <div className="row" style={{ justifyContent: "flex-end" }}>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary">
            Transfer
          </button>
        </div>
      </form>
    </dialog>
  );
}
