// The console's service worker: the app shell opens without the network once seen.
// - navigations: network first (a new deploy shows at once), the cached /index.html offline;
// - /assets/*: cache first (their names are content hashes, so a cached copy never goes stale);
// - /api/, /media/, /whep/ and everything else: never cached, never answered from here
//   (private, live, or both).
const CACHE = "sparc-console-shell-v1";
const SHELL = ["/", "/index.html"];
const NEVER_CACHED = ["/api/", "/media/", "/whep/"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
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

async function networkFirstShell(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    const html = (response.headers.get("Content-Type") || "").includes("text/html");
    // Every route serves the same index.html: keep the newest as the offline shell.
    if (cacheable(response) && html) await cache.put("/index.html", response.clone());
    return response;
  } catch (error) {
    const shell = (await cache.match("/index.html")) || (await cache.match("/"));
    if (shell) return shell;
    throw error;
  }
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
  if (request.mode === "navigate") {
    event.respondWith(networkFirstShell(request));
  } else if (url.pathname.startsWith("/assets/")) {
    event.respondWith(cacheFirstAsset(request));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(networkFirstShell(request));
  }
});
