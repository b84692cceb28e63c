import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { isApiError } from "./api";
import { App } from "./App";
import { withQuery } from "./router";
import "./styles.css";

/** A link to the retired web player (`/player/#camera=ID&at=...`, sent here by the server
 * with its fragment kept) opens the camera's page; a key in such a link is dropped unread. */
function followOldPlayerLink(): void {
  if (window.location.pathname !== "/" || !window.location.hash) return;
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (!fragment.has("camera") && !fragment.has("key")) return;
  const camera = fragment.get("camera");
  const to = camera ? withQuery(`/cameras/${encodeURIComponent(camera)}`, { at: fragment.get("at") }) : "/";
  window.history.replaceState(null, "", to);
}

followOldPlayerLink();

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10000,
      // A 4xx will not change by asking again (a 401 signs out, see App.tsx); a 5xx or a
      // dropped connection may.
      retry: (failures, error) => failures < 2 && !(isApiError(error) && error.status < 500),
    },
  },
});

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
}

// The app shell works offline once seen (public/sw.js); not in `vite dev`, whose modules
// are not hashed and must never come from a cache.
if (import.meta.env.PROD && "serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch(() => {
      // Without it the console works the same, only not offline.
    });
  });
}
