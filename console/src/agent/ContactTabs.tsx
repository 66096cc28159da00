/**
 * Contact tabs (`data-testid=tabs`), persisted on the server (`tabs:list`), so they follow
 * the agent to any browser. Click or arrow keys activate, × or Delete closes, drag (or
 * Ctrl+Shift+←/→) reorders.
 */
import { useRef, useState, type KeyboardEvent } from "react";
import { useMutation } from "reactor-client/react";
import { api, type Doc, type Id } from "../model.js";
import { formatPhone } from "../time.js";
import { useLive } from "../ui/live.js";
import { useToast } from "../ui/toast.js";
import { CustomerCard, PhoneCard } from "./CustomerCard.js";
import { MyDay } from "./MyDay.js";
import { SmsThread } from "./SmsThread.js";
import { Icon } from "../ui/icons.js";

const ICON = { customer: "user", call: "phone", sms_thread: "chat", phone: "hash" } as const;

export function ContactTabs() {
  const toast = useToast();
  const tabs = (useLive(api.tabs.list, {}).data ?? []) as Doc<"user_contact_tabs">[];
  const activate = useMutation(api.tabs.activate);
  const close = useMutation(api.tabs.close);
  const move = useMutation(api.tabs.move);
  const [dragging, setDragging] = useState<string | null>(null);
  const refs = useRef(new Map<string, HTMLButtonElement>());
  const active = tabs.find((t) => t.active) ?? null;

  const focusTab = (i: number) => {
    const tab = tabs[(i + tabs.length) % tabs.length];
    if (!tab) return;
    refs.current.get(tab._id)?.focus();
    void activate({ tab_id: tab._id }).catch(toast.fail);
  };
  const onKey = (e: KeyboardEvent, i: number, tab: Doc<"user_contact_tabs">) => {
    if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && e.ctrlKey && e.shiftKey) {
      e.preventDefault();
      void move({ tab_id: tab._id, position: Math.max(0, i + (e.key === "ArrowLeft" ? -1 : 1)) }).catch(toast.fail);
    } else if (e.key === "ArrowRight") {
      e.preventDefault();
      focusTab(i + 1);
    } else if (e.key === "ArrowLeft") {
      e.preventDefault();
      focusTab(i - 1);
    } else if (e.key === "Delete") {
      e.preventDefault();
      void close({ tab_id: tab._id }).catch(toast.fail);
    }
  };

  return (
    <section className="panel" style={{ display: "flex", flexDirection: "column", flex: 1, minHeight: 0 }} data-testid="tabs" aria-label="Contacts">
      <div className="tabbar" role="tablist" aria-label="Open contacts">
        {tabs.length === 0 ? <span className="muted small" style={{ padding: "0 8px 12px" }}>Contacts you open appear here.</span> : null}
        {tabs.map((tab, i) => (
          <div
            key={tab._id}
            className={`tab ${dragging === tab._id ? "dragging" : ""}`}
            aria-selected={tab.active}
            draggable
            data-testid="tab"
            data-tab-id={tab._id}
            data-active={tab.active}
            onDragStart={(e) => {
              setDragging(tab._id);
              e.dataTransfer.setData("text/plain", tab._id);
            }}
            onDragEnd={() => setDragging(null)}
            onDragOver={(e) => e.preventDefault()}
            onDrop={(e) => {
              e.preventDefault();
              const id = e.dataTransfer.getData("text/plain");
              if (id && id !== tab._id) void move({ tab_id: id as Id<"user_contact_tabs">, position: i }).catch(toast.fail);
              setDragging(null);
            }}
          >
            <button
              ref={(el) => {
                if (el) refs.current.set(tab._id, el);
                else refs.current.delete(tab._id);
              }}
              role="tab"
              aria-selected={tab.active}
              aria-controls="tab-panel"
              tabIndex={tab.active || (!active && i === 0) ? 0 : -1}
              className="ghost"
              style={{ border: 0, background: "none", cursor: "pointer", display: "flex", gap: 6, alignItems: "center", padding: 0, font: "inherit", color: "inherit" }}
              onClick={() => void activate({ tab_id: tab._id }).catch(toast.fail)}
              onKeyDown={(e) => onKey(e, i, tab)}
            >
              <Icon name={ICON[tab.kind]} />
              <span className="title">{tab.kind === "phone" ? formatPhone(tab.title) : tab.title}</span>
            </button>
            <button className="close" aria-label={`Close ${tab.title}`} onClick={() => void close({ tab_id: tab._id }).catch(toast.fail)} data-testid="tab-close">
              ×
            </button>
          </div>
        ))}
      </div>
      <div className="tab-content" role="tabpanel" id="tab-panel" aria-label={active?.title ?? "No contact open"}>
        {active ? <TabBody tab={active} /> : <MyDay />}
      </div>
    </section>
  );
}

function TabBody({ tab }: { tab: Doc<"user_contact_tabs"> }) {
  switch (tab.kind) {
    case "customer":
      return <CustomerCard customerId={tab.ref as Id<"customers">} />;
    case "sms_thread":
      return <SmsThread threadId={tab.ref as Id<"sms_threads">} key={tab.ref} />;
    case "call":
      return <CallTab callId={tab.ref as Id<"calls">} />;
    default:
      return <PhoneCard phone={tab.ref} />;
  }
}

function CallTab({ callId }: { callId: Id<"calls"> }) {
  const call = useLive(api.calls.get, { call_id: callId }).data;
  if (!call) return <div className="empty">Loading call…</div>;
  return call.customer_id ? <CustomerCard customerId={call.customer_id} /> : <PhoneCard phone={call.phone} />;
}
