// The example app: a live chat (useQuery + useMutation with an optimistic update), a live
// paginated list (usePaginatedQuery) and the connection state. Bundled by
// scripts/build-example.mjs into app.js.
//
// URL parameters: ?server=http://127.0.0.1:3210 (default: this page's origin) and
// ?call=<id of a "calls" document> (default: a new call is started).
import { createElement as h, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { ReactorClient, api } from "../src/index.ts";
import {
  ReactorProvider,
  useAction,
  useConnectionState,
  useMutation,
  usePaginatedQuery,
  useQuery,
} from "../src/react/index.ts";

const params = new URLSearchParams(location.search);
const client = new ReactorClient(params.get("server") ?? location.origin);
window.reactorClient = client;

function Status() {
  const state = useConnectionState();
  return h(
    "div",
    { className: "status", id: "status" },
    "server: ",
    h("b", { className: state.isWebSocketConnected ? "on" : "off" }, state.isWebSocketConnected ? "connected" : "offline"),
    ` · connections: ${state.connectionCount} · in flight: ${state.inflightMutations + state.inflightActions}`,
  );
}

function Chat({ callId }) {
  const messages = useQuery(api.messages.list, { call_id: callId });
  const append = useMutation(api.messages.append).withOptimisticUpdate((store, args) => {
    const current = store.getQuery(api.messages.list, { call_id: args.call_id });
    if (current === undefined) return;
    const pending = { _id: `pending-${Math.random()}`, ...args, pending: true };
    store.setQuery(api.messages.list, { call_id: args.call_id }, [...current, pending]);
  });
  const [text, setText] = useState("");
  const submit = (event) => {
    event.preventDefault();
    if (!text.trim()) return;
    void append({ call_id: callId, role: "user", text });
    setText("");
  };
  return h(
    "section",
    null,
    h("h2", null, "Messages"),
    messages === undefined
      ? h("p", { id: "loading" }, "Loading…")
      : h(
          "ul",
          { id: "messages" },
          messages.map((m) =>
            h("li", { key: m._id, className: m.pending ? "pending" : "" }, h("span", { className: "role" }, m.role), m.text),
          ),
        ),
    h(
      "form",
      { onSubmit: submit },
      h("input", { type: "text", id: "text", value: text, placeholder: "Say something", onChange: (e) => setText(e.target.value) }),
      h("button", { type: "submit", id: "send" }, "Send"),
    ),
  );
}

function Items() {
  const { results, status, loadMore } = usePaginatedQuery(api.items.paged, {}, { initialNumItems: 5 });
  const addAndCount = useAction(api.items.add_and_count);
  const [count, setCount] = useState(null);
  const addTwo = () => {
    const n = results.length ? Math.max(...results.map((doc) => doc.n)) + 1 : 1;
    void addAndCount({ tag: "demo", n }).then(setCount);
  };
  return h(
    "section",
    { className: "items" },
    h("h2", null, "Items (paginated)"),
    h("div", { id: "items" }, results.map((doc) => h("span", { key: doc._id }, String(doc.n)))),
    h("p", { id: "items-status" }, status),
    h("button", { id: "more", disabled: status !== "CanLoadMore", onClick: () => loadMore(5) }, "Load more"),
    " ",
    h("button", { id: "add-two", onClick: addTwo }, "Add two (action)"),
    count === null ? null : h("span", { id: "count" }, ` the action counted ${count} items`),
  );
}

function App() {
  const [callId, setCallId] = useState(params.get("call"));
  const startCall = useMutation(api.calls.start);
  useEffect(() => {
    if (callId !== null) return;
    void startCall({ user_id: "demo", started_at: Date.now() }).then((id) => {
      const url = new URL(location.href);
      url.searchParams.set("call", id);
      history.replaceState(null, "", url);
      setCallId(id);
    });
  }, [callId, startCall]);
  return h(
    "main",
    null,
    h("h1", null, "reactor live chat"),
    h(Status),
    callId === null ? h("p", null, "Starting a call…") : h(Chat, { callId }),
    h(Items),
  );
}

createRoot(document.getElementById("root")).render(h(ReactorProvider, { client }, h(App)));
