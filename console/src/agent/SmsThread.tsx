/**
 * One SMS conversation (`data-testid=sms-thread`) and its composer.
 *
 * Only the lock holder may type: focusing the composer takes the thread's lock
 * (`sms/locks:acquire`); while I type it is renewed every 60 s; leaving the composer (or
 * the thread) releases it. Someone else's lock makes the composer read-only with their
 * name; an opt-out (a STOP arriving, or any DNT change) disables it at once.
 */
import { useEffect, useRef, useState, type FocusEvent } from "react";
import { useMutation, useReactor } from "reactor-client/react";
import { describeError, errorCode } from "../errors.js";
import { api, type Doc, type Id } from "../model.js";
import { formatClock, formatDuration, formatPhone, useNow } from "../time.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";
import { nameOf, useAgent } from "./context.js";
import { CallButton } from "./Dialer.js";
import { GrammarPanel, useGrammar } from "./GrammarCheck.js";
import { countSegments } from "./sms_segments.js";
import { Icon } from "../ui/icons.js";

const RENEW_MS = 60_000;

interface Pending {
  key: number;
  body: string;
}

type ThreadDoc = Doc<"sms_threads"> & { customer_name: string | null };

export function SmsThread({ threadId }: { threadId: Id<"sms_threads"> }) {
  const { session, people } = useAgent();
  const toast = useToast();
  const client = useReactor();
  const now = useNow();
  const thread = useLive(api.console.thread, { thread_id: threadId }).data as ThreadDoc | null | undefined;
  const messages = (useLive(api.sms.threads.messages, { thread_id: threadId, limit: 50 }).data ?? []) as Doc<"sms_messages">[];
  const lock = useLive(api.sms.locks.get, { thread_id: threadId }).data as { agent_id: string; expires_at: number } | null | undefined;
  const dnt = useLive(api.sms.compliance.status, thread ? { phone: thread.phone } : "skip").data;
  const events = (useLive(api.sms.compliance.events, thread ? { phone: thread.phone, limit: 50 } : "skip").data ?? []) as Doc<"compliance_events">[];
  const markRead = useMutation(api.sms.threads.mark_read);
  const acquire = useMutation(api.sms.locks.acquire);
  const renew = useMutation(api.sms.locks.renew);
  const release = useMutation(api.sms.locks.release);
  const send = useMutation(api.sms.threads.send);
  const [text, setText] = useState("");
  const [pending, setPending] = useState<Pending[]>([]);
  const [refusal, setRefusal] = useState<string | null>(null);
  const typedAt = useRef(0);
  const renewedAt = useRef(0);
  const list = useRef<HTMLDivElement>(null);

  const mine = lock?.agent_id === session.agentId;
  const otherHolder = lock && !mine ? lock.agent_id : null;
  const optedOut = Boolean(dnt?.sms);

  useEffect(() => {
    if (thread && thread.unread_count > 0) void markRead({ thread_id: threadId }).catch(() => {});
  }, [thread?.unread_count, threadId, markRead, thread]);

  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight });
  }, [messages.length, pending.length]);

  // Renew while typing; release when the thread closes.
  const mineRef = useRef(mine);
  mineRef.current = mine;
  useEffect(() => {
    const timer = setInterval(() => {
      if (mineRef.current && typedAt.current > renewedAt.current) {
        renewedAt.current = Date.now();
        void renew({ thread_id: threadId }).catch(() => {});
      }
    }, RENEW_MS);
    return () => {
      clearInterval(timer);
      if (mineRef.current) void client.mutation(api.sms.locks.release, { thread_id: threadId }).catch(() => {});
    };
  }, [threadId, renew, client]);

  const onFocus = async () => {
    if (mine || otherHolder || optedOut) return;
    try {
      await acquire({ thread_id: threadId });
      renewedAt.current = Date.now();
    } catch (e) {
      if (errorCode(e) !== "thread_locked") toast.fail(e);
    }
  };
  const onBlur = (e: FocusEvent<HTMLDivElement>) => {
    if (e.currentTarget.contains(e.relatedTarget as Node | null)) return;
    if (mine) void release({ thread_id: threadId }).catch(() => {});
  };

  const doSend = async () => {
    const body = text.trim();
    if (!body || !mine || optedOut) return;
    const key = Date.now();
    setPending((p) => [...p, { key, body }]);
    setText("");
    setRefusal(null);
    try {
      const result = await send({ thread_id: threadId, body });
      if (!result.ok) {
        setRefusal(`Not sent — recipient opted out (audit #${String(result.audit_id).slice(-6)})`);
        setText(body);
      }
    } catch (e) {
      setText(body);
      toast.show(describeError(e), "danger");
    } finally {
      setPending((p) => p.filter((x) => x.key !== key));
    }
  };

  const grammar = useGrammar(threadId, text, setText);
  const count = countSegments(text);
  const timeline = [
    ...messages.map((m) => ({ at: m.at, kind: "msg" as const, m })),
    ...events
      .filter((ev) => ev.channel === "sms" && ev.source === "sms_keyword" && ev.action !== "blocked_send")
      .map((ev) => ({ at: ev.occurred_at, kind: "event" as const, ev })),
  ].sort((a, b) => a.at - b.at);
  const oldest = messages[0]?.at ?? Infinity;
  const shown = timeline.filter((item) => item.kind === "msg" || item.at >= oldest - 1000);

  return (
    <div className="thread" data-testid="sms-thread" data-thread-id={threadId}>
      <div className="spread" style={{ marginBottom: 10 }}>
        <div>
          <h2 style={{ fontSize: 18 }}>{thread?.customer_name ?? formatPhone(thread?.phone)}</h2>
          <div className="muted small">
            {thread ? formatPhone(thread.phone) : ""} {optedOut ? <span className="badge danger">Opted out</span> : null}
          </div>
        </div>
        {thread ? <CallButton phone={thread.phone} customerId={thread.customer_id} /> : null}
      </div>
      <div className="messages" ref={list} aria-label="Conversation" aria-live="polite" tabIndex={0}>
        {shown.map((item) =>
          item.kind === "event" ? (
            <div key={item.ev._id} className="system-line" data-testid="system-line">
              {item.ev.action === "opt_out" ? "Opted out" : item.ev.action === "opt_in" ? "Opted in" : "Asked for help"} via {item.ev.keyword ?? "keyword"} · {formatClock(item.ev.occurred_at)} · {item.ev.source}
            </div>
          ) : (
            <div key={item.m._id} className={`bubble ${item.m.direction}`} data-testid="message">
              {item.m.body}
              <div className="meta">
                {formatClock(item.m.at)}
                {item.m.direction === "outbound" ? ` · ${nameOf(people, item.m.agent_id)} · ` : ""}
                {item.m.direction === "outbound" ? (
                  <span data-testid="message-status">
                    {item.m.status}
                    {item.m.error_code ? ` (${item.m.error_code})` : ""}
                  </span>
                ) : null}
              </div>
            </div>
          ),
        )}
        {pending.map((p) => (
          <div key={p.key} className="bubble outbound pending" data-testid="pending-message">
            {p.body}
            <div className="meta">sending…</div>
          </div>
        ))}
      </div>
      <div className="composer" onBlur={onBlur}>
        {optedOut ? (
          <div className="notice danger" data-testid="opted-out">
            Opted out — this number asked not to be texted. Replies are blocked.
          </div>
        ) : otherHolder ? (
          <div className="notice warn" data-testid="lock-indicator">
            <Icon name="lock" size={13} /> {nameOf(people, otherHolder)} is replying · {formatDuration((lock?.expires_at ?? now) - now)}
          </div>
        ) : null}
        {refusal ? (
          <div className="notice danger" role="alert" data-testid="send-refused">
            {refusal}
          </div>
        ) : null}
        <label>
          <span className="sr-only">Reply</span>
          <textarea
            className="input"
            rows={3}
            style={{ width: "100%" }}
            data-testid="composer"
            data-editable={mine && !optedOut}
            value={text}
            disabled={optedOut}
            readOnly={!mine}
            placeholder={optedOut ? "Opted out" : otherHolder ? `${nameOf(people, otherHolder)} is replying` : mine ? "Type a reply…" : "Click to reply"}
            onFocus={onFocus}
            onChange={(e) => {
              typedAt.current = Date.now();
              setText(e.target.value);
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                void doSend();
              }
            }}
          />
        </label>
        <GrammarPanel g={grammar} />
        <div className="composer-bar">
          <CannedPicker threadId={threadId} enabled={mine && !optedOut} />
          <button className="btn" disabled={!mine || optedOut || !text.trim() || grammar.busy} onClick={() => void grammar.check()} data-testid="check-grammar">
            Check grammar
          </button>
          <span className="muted small num grow" data-testid="segments" style={{ textAlign: "right", whiteSpace: "nowrap" }}>
            {count.units}/{count.perSegment} · {count.segments} segment{count.segments === 1 ? "" : "s"} · {count.encoding}
          </span>
          <button className="btn primary" disabled={!mine || optedOut || !text.trim()} onClick={() => void doSend()} data-testid="send">
            Send
          </button>
        </div>
      </div>
    </div>
  );
}

function CannedPicker({ threadId, enabled }: { threadId: Id<"sms_threads">; enabled: boolean }) {
  const toast = useToast();
  const canned = (useLive(api.canned.list, {}).data ?? []) as Doc<"canned_responses">[];
  const [choice, setChoice] = useState<string>("");
  const [values, setValues] = useState<Record<string, string>>({});
  const sendCanned = useMutation(api.sms.threads.send_canned);
  const selected = canned.find((c) => c._id === choice);
  const preview = useLive(api.canned.render, selected ? { canned_id: selected._id, thread_id: threadId, values } : "skip");
  const missing = (errorCode(preview.error) === "missing_placeholder" ? ((preview.error as { data?: { placeholders?: string[] } }).data?.placeholders ?? []) : []) as string[];
  return (
    <div className="row" style={{ position: "relative" }}>
      <label>
        <span className="sr-only">Canned response</span>
        <select className="input" style={{ width: 130 }} value={choice} onChange={(e) => setChoice(e.target.value)} disabled={!enabled} data-testid="canned-select">
          <option value="">Canned…</option>
          {canned.map((c) => (
            <option key={c._id} value={c._id}>
              {c.title}
            </option>
          ))}
        </select>
      </label>
      {selected ? (
        <div className="panel" style={{ position: "absolute", bottom: 42, left: 0, width: 380, zIndex: 10 }} data-testid="canned-preview">
          <div className="panel-body stack">
            <b>{selected.title}</b>
            <div className="small">{preview.data ?? <span className="muted">{selected.body}</span>}</div>
            {missing.map((name) => (
              <label key={name} className="field">
                <span>{name.replace(/_/g, " ")}</span>
                <input className="input" value={values[name] ?? ""} onChange={(e) => setValues({ ...values, [name]: e.target.value })} />
              </label>
            ))}
            <div className="row" style={{ justifyContent: "flex-end" }}>
              <button className="btn small" onClick={() => setChoice("")}>
                Cancel
              </button>
              <button
                className="btn small primary"
                disabled={!enabled || !preview.data}
                onClick={() =>
                  sendCanned({ thread_id: threadId, canned_id: selected._id, values })
                    .then((r) => {
                      if (!r.ok) toast.show(`Not sent — recipient opted out (audit #${String(r.audit_id).slice(-6)})`, "danger");
                      setChoice("");
                      setValues({});
                    })
                    .catch(toast.fail)
                }
              >
                Send
              </button>
            </div>
          </div>
        </div>
      ) : null}
    </div>
  );
}
