/** The console's entry point: one client for the page, the session, the app. */
import { createRoot } from "react-dom/client";
import { ReactorClient } from "reactor-client";
import { ReactorProvider } from "reactor-client/react";
import { App } from "./App.js";
import { ToastProvider } from "./ui/toast.js";

const client = new ReactorClient(window.location.origin);
// A panel's ErrorBoundary shows what went wrong in place; that is not a page error.
const root = createRoot(document.getElementById("root")!, {
  onCaughtError: (error) => console.warn("a panel could not render:", error),
});
root.render(
  <ReactorProvider client={client}>
    <ToastProvider>
      <App client={client} />
    </ToastProvider>
  </ReactorProvider>,
);
