import { defineConfig } from "vite";

// The console is served by the API at `/` (index.html for every client-side route) under a
// strict Content-Security-Policy: no inline script, so no module-preload polyfill either.
export default defineConfig({
  base: "/",
  // TSX compiled by esbuild with the automatic runtime: no @vitejs/plugin-react needed.
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    // What each page loads (the bundle budget test reads it); not served.
    manifest: true,
    // hls.js (~190 kB gzip) is its own chunk, fetched only when a stream falls back to HLS;
    // the chunks loaded up front are far below this.
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      onwarn(warning, warn) {
        // React Query marks its modules "use client" for server components; meaningless here.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
  server: {
    // `npm run dev` against a local API (compose.yaml publishes it on 8080).
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", changeOrigin: false },
      "/media": { target: "http://127.0.0.1:8080", changeOrigin: false },
    },
  },
});
