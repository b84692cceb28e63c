// The SPARC Video web player: the cameras a key may see, and a live view with hls.js that
// shows the current rung and CDN. Its state is on window.sparcPlayer for tests and support.

const state = {
  state: "idle", camera: null, cdn: null, rung: null, currentTime: 0, errors: [],
  cameras: null, listedAtMs: null,
};
window.sparcPlayer = state;

const $ = (id) => document.getElementById(id);
const fragment = new URLSearchParams(location.hash.slice(1));
let hls = null;

function key() {
  return $("key").value.trim();
}

function show(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${key()}` } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
  return body;
}

async function listCameras() {
  sessionStorage.setItem("sparc-key", key());
  const nav = $("cameras");
  nav.replaceChildren();
  let after = null;
  let listed = 0;
  do { // every page (500 cameras each), rendered as it arrives
    const page = await api(`/api/cameras?limit=500${after ? `&after=${after}` : ""}`);
    const items = document.createDocumentFragment();
    for (const camera of page.data) {
      const button = document.createElement("button");
      button.textContent = camera.name;
      button.dataset.camera = camera.id;
      button.onclick = () => play(camera.id).catch(fail);
      items.append(button);
    }
    nav.append(items);
    listed += page.data.length;
    after = page.next;
  } while (after);
  state.cameras = listed;
  state.listedAtMs = performance.now(); // since navigation started
  if (!listed) show("This key sees no cameras.");
  return listed;
}

function describe() {
  const level = hls && hls.currentLevel >= 0 ? hls.levels[hls.currentLevel] : null;
  if (level) {
    state.rung = `${level.height}p`;
    state.cdn = (level.attrs && level.attrs["PATHWAY-ID"]) || state.cdn;
  }
  state.currentTime = $("video").currentTime;
  show(`${state.state} · rung ${state.rung ?? "?"} · CDN ${state.cdn ?? "?"} · ${state.currentTime.toFixed(1)} s`);
}

async function play(cameraId) {
  const region = $("region").value;
  const playback = await api(`/api/cameras/${cameraId}/playback?region=${encodeURIComponent(region)}`);
  Object.assign(state, { state: "loading", camera: cameraId, cdn: playback.cdn, errors: [] });
  if (hls) hls.destroy();
  const video = $("video");
  if (!window.Hls || !Hls.isSupported()) {
    video.src = playback.url; // Safari plays HLS itself
  } else {
    hls = new Hls({ liveSyncDurationCount: 3 });
    hls.on(Hls.Events.LEVEL_SWITCHED, describe);
    hls.on(Hls.Events.ERROR, (_, data) => {
      state.errors.push(`${data.type}: ${data.details}`);
      if (data.fatal) fail(new Error(`playback failed: ${data.details}`));
    });
    hls.loadSource(playback.url);
    hls.attachMedia(video);
  }
  video.onplaying = () => { state.state = "playing"; describe(); };
  video.ontimeupdate = describe;
  await video.play().catch(() => {});
}

function fail(error) {
  state.state = "error";
  state.errors.push(String(error.message || error));
  show(String(error.message || error), true);
}

$("load").onclick = () => listCameras().catch(fail);
$("key").value = fragment.get("key") || sessionStorage.getItem("sparc-key") || "";
if (fragment.get("region")) $("region").value = fragment.get("region");
if (key()) {
  listCameras()
    .then(() => fragment.get("camera") && play(fragment.get("camera")))
    .catch(fail);
}
