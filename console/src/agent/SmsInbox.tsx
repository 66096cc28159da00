/**
 * The SMS inbox (`data-testid=sms-inbox`): open conversations, newest first, each with
 * its preview, unread count, an "Opted out" badge and who is replying (with the lock's
 * countdown). Opening one puts it in a contact tab.
 */
import { useMutation } from "reactor-client/react";
import { api, type InboxThread } from "../model.js";
import { formatClock, formatDuration, formatPhone, useNow } from "../time.js";
import { Panel } from "../ui/common.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";
import { nameOf, useAgent } from "./context.js";
import { Icon } from "../ui/icons.js";

export function SmsInbox() {
  const threads = (useLive(api.sms.threads.inbox, { limit: 50 }).data ?? []) as InboxThread[];
  const tabs = useLive(api.tabs.list, {}).data;
  const activeRef = tabs?.find((t: { active: boolean }) => t.active)?.ref;
  const unread = threads.reduce((n, t) => n + t.unread_count, 0);
  return (
    <Panel title="Messages" testid="sms-inbox" actions={<span className="badge info">{unread} unread</span>}>
      {threads.length === 0 ? <div className="empty">No open conversations.</div> : null}
      <div role="list">
        {threads.map((t) => (
          <InboxRow key={t._id} thread={t} current={t._id === activeRef} />
        ))}
      </div>
    </Panel>
  );
}

function InboxRow({ thread, current }: { thread: InboxThread; current: boolean }) {
  const { people, session } = useAgent();
  const toast = useToast();
  const now = useNow();
  const open = useMutation(api.tabs.open);
  const status = useLive(api.sms.compliance.status, { phone: thread.phone }).data;
  const lock = useLive(api.sms.locks.get, thread.locked_by ? { thread_id: thread._id } : "skip").data;
  const customer = useLive(api.customers.lookup, { phone: thread.phone }).data;
  const holder = lock?.agent_id ?? thread.locked_by;
  return (
    <div role="listitem">
      <button
        className="inbox-row"
        aria-current={current}
        data-testid="inbox-row"
        data-thread-id={thread._id}
        onClick={() => open({ kind: "sms_thread", ref: thread._id, title: customer?.name ?? formatPhone(thread.phone) }).catch(toast.fail)}
      >
        <div className="grow stack" style={{ gap: 3 }}>
          <div className="spread">
            <b>{customer?.name ?? formatPhone(thread.phone)}</b>
            <span className="muted small">{formatClock(thread.last_message_at)}</span>
          </div>
          <div className="preview">{thread.preview || <i>No messages</i>}</div>
          <div className="row">
            {thread.unread_count > 0 ? (
              <span className="badge count" data-testid="unread-count" data-value={thread.unread_count}>
                {thread.unread_count}
              </span>
            ) : null}
            {status?.sms ? <span className="badge danger">Opted out</span> : null}
            {holder ? (
              <span className="lock" data-testid="inbox-lock">
                <Icon name="lock" size={12} /> {holder === session.agentId ? "You are replying" : `${nameOf(people, holder)} is replying`}
                {lock ? ` · ${formatDuration(lock.expires_at - now)}` : ""}
              </span>
            ) : null}
          </div>
        </div>
      </button>
    </div>
  );
}
