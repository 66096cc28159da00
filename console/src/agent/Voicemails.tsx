/**
 * Voicemail (`data-testid=voicemails`): new messages for everyone, and the ones I took.
 * Take assigns one to me (it leaves everyone else's "new" list at once); Done closes it.
 */
import { useMutation } from "reactor-client/react";
import { api, type Doc } from "../model.js";
import { formatClock, formatPhone } from "../time.js";
import { Panel } from "../ui/common.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";
import { useAgent } from "./context.js";
import { CallButton } from "./Dialer.js";

export function Voicemails() {
  const { session } = useAgent();
  const toast = useToast();
  const fresh = (useLive(api.voicemails.list, { status: "new" }).data ?? []) as Doc<"voicemails">[];
  const assigned = (useLive(api.voicemails.list, { status: "assigned" }).data ?? []) as Doc<"voicemails">[];
  const mine = assigned.filter((v) => v.assigned_to === session.agentId);
  const take = useMutation(api.voicemails.assign);
  const done = useMutation(api.voicemails.done);
  const rows = [...mine, ...fresh];
  return (
    <Panel title="Voicemail" testid="voicemails" actions={<span className="badge" data-value={fresh.length} data-testid="voicemail-count">{fresh.length} new</span>}>
      {rows.length === 0 ? <div className="empty">No voicemail.</div> : null}
      <ul style={{ listStyle: "none", margin: 0, padding: 0 }}>
        {rows.map((vm) => (
          <li key={vm._id} className="panel-body stack" style={{ borderBottom: "1px solid var(--line)" }} data-testid="voicemail">
            <div className="spread">
              <b>{formatPhone(vm.phone)}</b>
              <span className="muted small">
                {vm.queue ?? "–"} · {formatClock(vm.created_at)}
              </span>
            </div>
            <div className="small">{vm.transcription ?? <span className="muted">No transcription yet.</span>}</div>
            <div className="row">
              {vm.status === "new" ? (
                <button className="btn small" onClick={() => take({ voicemail_id: vm._id }).catch(toast.fail)} data-testid="take">
                  Take
                </button>
              ) : (
                <>
                  <CallButton phone={vm.phone} customerId={vm.customer_id} label="Call back" />
                  <button className="btn small" onClick={() => done({ voicemail_id: vm._id }).catch(toast.fail)}>
                    Done
                  </button>
                </>
              )}
              {vm.recording_id ? null : <span className="muted small">no recording</span>}
            </div>
          </li>
        ))}
      </ul>
    </Panel>
  );
}
