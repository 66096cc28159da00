/** The console's entry point: one client for the page, the session, the app. */
import { createRoot } from "react-dom/client";
import { ReactorClient } from "reactor-client";
import { ReactorProvider } from "reactor-client/react";
import { App } from "./App.js";
import { ToastProvider } from "./ui/toast.js";

const client = new ReactorClient(window.location.origin);
createRoot(document.getElementById("root")!).render(
  <ReactorProvider client={client}>
    <ToastProvider>
      <App client={client} />
    </ToastProvider>
  </ReactorProvider>,
);
