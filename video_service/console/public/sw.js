// The console's service worker: the app shell opens from here once seen.
// - navigations to the console's routes: the cached /index.html at once, refreshed from the
//   network behind it (a new deploy shows on the next visit); the network when none is
//   cached; other pages of the origin (/docs, /player/) are left alone, never kept as the shell;
// - /assets/*: cache first (their names are content hashes, so a cached copy never goes stale);
// - /api/, /media/, /whep/ and everything else: never cached, never answered from here
//   (private, live, or both).
const CACHE = "sparc-console-shell-v2";
const ROUTES = ["/sign-in", "/wall", "/cameras/", "/events", "/admin", "/ops"];
const SHELL = ["/", "/index.html"]; // the page's addresses the shell answers for
const NEVER_CACHED = ["/api/", "/media/", "/whep/"];

// The shell is kept under /index.html, fetched from / (the server has no /index.html: every
// console route is the page; a failed fetch here would fail the whole install).
self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => fetch("/").then((response) => (cacheable(response) ? cache.put("/index.html", response) : undefined)))
      .catch(() => undefined)
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names.filter((name) => name.startsWith("sparc-console-") && name !== CACHE).map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

function cacheable(response) {
  return response.ok && response.type === "basic";
}

function consoleRoute(pathname) {
  return pathname === "/" || pathname === "/index.html" || ROUTES.some((route) => pathname.startsWith(route));
}

async function refreshShell(request, cache) {
  const response = await fetch(request);
  const html = (response.headers.get("Content-Type") || "").includes("text/html");
  // Every console route serves the same index.html: keep the newest as the shell.
  if (cacheable(response) && html) {
    const kept = response.clone();
    const shell = await response.clone().text();
    const before = await cache.match("/index.html");
    const previous = before ? await before.text() : null;
    if (previous !== null && previous !== shell) await pruneAssets(cache, shell);
    await cache.put("/index.html", kept);
  }
  return response;
}

async function pruneAssets(cache, shell) {
  const named = new Set(shell.match(/\/assets\/[A-Za-z0-9._-]+/g) || []);
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/assets/") && !named.has(path)) await cache.delete(request);
  }
}

async function cachedShell(event) {
  const cache = await caches.open(CACHE);
  const shell = await cache.match("/index.html");
  const fresh = refreshShell(event.request, cache);
  if (shell) {
    event.waitUntil(fresh.catch(() => {}));
    return shell;
  }
  return fresh;
}

async function cacheFirstAsset(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (cacheable(response)) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (NEVER_CACHED.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (url.pathname.startsWith("/assets/")) {
    event.respondWith(cacheFirstAsset(request));
  } else if (consoleRoute(url.pathname) && (request.mode === "navigate" || SHELL.includes(url.pathname))) {
    event.respondWith(cachedShell(event));
  }
});
