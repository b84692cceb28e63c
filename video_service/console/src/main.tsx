import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { isApiError } from "./api";
import { App } from "./App";
import { withQuery } from "./router";
import "./styles.css";

/** A link to the retired web player opens the camera's page: the server sends
 * `/player/#camera=ID&at=...` to `/` and `/player/?camera=ID#...` to `/cameras/ID`, the
 * browser keeping the fragment. Its `at` and `transport` are followed; a key in it is
 * dropped unread, on any page, so that it stays in neither the address bar nor the history. */
function followOldPlayerLink(): void {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (!fragment.has("camera") && !fragment.has("key")) return;
  const { pathname, search } = window.location;
  const camera = fragment.get("camera");
  const kept = { at: fragment.get("at"), transport: fragment.get("transport") };
  let to = pathname + search;
  if (pathname === "/" && camera) to = withQuery(`/cameras/${encodeURIComponent(camera)}`, kept);
  else if (pathname.startsWith("/cameras/") && !search) to = withQuery(pathname, kept);
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
