// The SPARC Video web player: the cameras a key may see, a live view with hls.js that shows
// the current rung and CDN, and under it a timeline of the last 24 hours of the recording
// (gaps and events marked): a click plays the recording from that time, showing the
// wall-clock time of the frame (from EXT-X-PROGRAM-DATE-TIME); "Live" goes back.
// Live view tries WebRTC first (WHEP, from the camera's edge: the camera's own H.264, well
// under a second behind) and falls back to HLS; the status line says which, and how far
// behind it is. `#transport=hls` skips WebRTC.
// Its state is on window.sparcPlayer for tests and support.

const DAY_MS = 24 * 3600 * 1000;
const state = {
  state: "idle", camera: null, cdn: null, rung: null, currentTime: 0, errors: [],
  cameras: null, listedAtMs: null, mode: null, wallClock: null, wallClockAtStart: null,
  spans: null, events: null, transport: null, latencyMs: null, timeToFirstFrameMs: null,
  sound: null, audioCodec: null, audioPackets: 0,
};
window.sparcPlayer = state;

const $ = (id) => document.getElementById(id);
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.has("key")) { // read once: not left in the address bar or the history
  const kept = new URLSearchParams(fragment);
  kept.delete("key");
  const rest = kept.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}
let hls = null;
let whep = null; // { connection, session URL } while live view is over WebRTC
const WHEP_START_MS = 5000; // longer than this to the first frame: HLS instead

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
  if (state.transport === "webrtc") return describeWebRtc();
  const level = hls && hls.currentLevel >= 0 ? hls.levels[hls.currentLevel] : null;
  if (level) {
    state.rung = `${level.height}p`;
    state.cdn = (level.attrs && level.attrs["PATHWAY-ID"]) || state.cdn;
  }
  state.currentTime = $("video").currentTime;
  const date = hls && hls.playingDate; // from EXT-X-PROGRAM-DATE-TIME
  state.wallClock = date ? date.getTime() : null;
  const clock = state.wallClock ? new Date(state.wallClock).toLocaleString() : "?";
  const where = state.mode === "recorded" ? `recording · ${clock}` : `live · ${clock}`;
  if (state.mode === "live" && state.wallClock) state.latencyMs = Date.now() - state.wallClock;
  const behind = state.mode === "live" && state.latencyMs !== null ? ` · ${(state.latencyMs / 1000).toFixed(1)} s behind` : "";
  show(`${state.state} · ${where}${behind} · HLS · rung ${state.rung ?? "?"} · CDN ${state.cdn ?? "?"} · ${state.currentTime.toFixed(1)} s`);
}

async function play(cameraId) {
  const region = $("region").value;
  const askedAt = performance.now();
  const playback = await api(`/api/cameras/${cameraId}/playback?region=${encodeURIComponent(region)}`);
  showTimeline(cameraId).catch(fail);
  if (playback.webrtc && window.RTCPeerConnection && fragment.get("transport") !== "hls") {
    try {
      return await startWebRtc(cameraId, playback, askedAt);
    } catch (error) {
      state.errors.push(`WebRTC: ${error.message || error}; HLS instead`);
      await stopWebRtc();
    }
  }
  start(cameraId, playback, "live", { liveSyncDurationCount: 3 });
}

// WHEP: offer (receive-only H.264 video), every ICE candidate in it; the answer from the
// edge; the first frame within WHEP_START_MS, or the caller falls back to HLS.
async function startWebRtc(cameraId, playback, askedAt) {
  stopHls();
  await stopWebRtc();
  Object.assign(state, { state: "loading", camera: cameraId, cdn: "edge", errors: [],
                         mode: "live", transport: "webrtc", latencyMs: null,
                         timeToFirstFrameMs: null, wallClock: null, wallClockAtStart: null });
  const connection = new RTCPeerConnection();
  whep = { connection, session: null };
  const video = $("video");
  connection.addTransceiver("video", { direction: "recvonly" });
  connection.addTransceiver("audio", { direction: "recvonly" });
  const media = new MediaStream();
  connection.ontrack = (event) => {
    media.addTrack(event.track);
    video.srcObject = media;
  };
  await connection.setLocalDescription(await connection.createOffer());
  await gathered(connection, 2000);
  const answered = await fetch(playback.webrtc, {
    method: "POST", headers: { "Content-Type": "application/sdp" }, body: connection.localDescription.sdp,
  });
  const text = await answered.text();
  if (answered.status !== 201) throw new Error(`${answered.status}: ${text.trim()}`);
  whep.session = new URL(answered.headers.get("Location"), playback.webrtc).href;
  state.sound = answered.headers.get("X-Audio") || "none";
  await connection.setRemoteDescription({ type: "answer", sdp: text });
  await firstFrame(video, WHEP_START_MS);
  state.timeToFirstFrameMs = Math.round(performance.now() - askedAt);
  // WebRTC needs no ladder: the HLS viewer session the playback answer opened ends now.
  fetch(`/api/cameras/${cameraId}/viewers/${playback.session_id}`, {
    method: "DELETE", headers: { Authorization: `Bearer ${key()}` },
  }).then((answer) => { state.hlsSessionEnded = answer.status === 204; }).catch(() => {});
  state.state = "playing";
  video.ontimeupdate = describe;
  connection.onconnectionstatechange = () => {
    if (["failed", "closed"].includes(connection.connectionState) && whep && whep.connection === connection) {
      play(cameraId).catch(fail); // the camera left, the edge restarted: ask again
    }
  };
  describe();
}

function gathered(connection, waitMs) {
  if (connection.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => connection.iceGatheringState === "complete" && resolve();
    connection.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, waitMs); // what was gathered by then is enough on a LAN
  });
}

function firstFrame(video, waitMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no picture within ${waitMs / 1000} s`)), waitMs);
    const shown = () => { clearTimeout(timer); resolve(); };
    if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(shown);
    else video.addEventListener("playing", shown, { once: true });
    video.play().catch(() => {});
  });
}

async function describeWebRtc() {
  const connection = whep && whep.connection;
  if (!connection) return;
  // Behind the camera: half the round trip plus the jitter buffer (what the browser knows).
  let rtt = 0, buffered = 0;
  const stats = await connection.getStats();
  stats.forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "audio") {
      state.audioPackets = report.packetsReceived;
      state.audioCodec = report.codecId && stats.get(report.codecId) ? stats.get(report.codecId).mimeType : null;
    }
    if (report.type === "candidate-pair" && report.nominated && report.currentRoundTripTime) rtt = report.currentRoundTripTime;
    if (report.type === "inbound-rtp" && report.kind === "video" && report.jitterBufferEmittedCount) {
      buffered = report.jitterBufferDelay / report.jitterBufferEmittedCount;
    }
  });
  state.latencyMs = Math.round((rtt / 2 + buffered) * 1000);
  state.currentTime = $("video").currentTime;
  show(`${state.state} · live · WebRTC from the edge · ~${state.latencyMs} ms network and buffer · first picture after ${state.timeToFirstFrameMs} ms · sound: ${state.sound}`);
}

async function stopWebRtc() {
  if (!whep) return;
  const { connection, session } = whep;
  whep = null;
  connection.close();
  $("video").srcObject = null;
  if (session) await fetch(session, { method: "DELETE" }).catch(() => {});
}

// Leaving the page ends the WebRTC session at once (else the edge holds the viewer's place
// until ICE consent lapses, about 30 s).
addEventListener("pagehide", () => {
  if (whep && whep.session) fetch(whep.session, { method: "DELETE", keepalive: true }).catch(() => {});
});

function stopHls() {
  if (hls) hls.destroy();
  hls = null;
}

async function playRecorded(cameraId, fromMs) {
  const region = $("region").value;
  const end = Math.min(fromMs + 3600 * 1000, Date.now());
  const range = `start=${new Date(fromMs).toISOString()}&end=${new Date(end).toISOString()}`;
  const playback = await api(`/api/cameras/${cameraId}/playback?region=${encodeURIComponent(region)}&${range}`);
  start(cameraId, playback, "recorded", { startPosition: playback.offset_s ?? 0 });
  if (state.spans === null) showTimeline(cameraId).catch(fail);
}

function start(cameraId, playback, mode, options) {
  Object.assign(state, { state: "loading", camera: cameraId, cdn: playback.cdn,
                         errors: mode === "live" ? state.errors : [], transport: "hls",
                         latencyMs: null, mode, wallClock: null, wallClockAtStart: null });
  stopHls();
  stopWebRtc();
  const video = $("video");
  if (!window.Hls || !Hls.isSupported()) {
    video.src = playback.url; // Safari plays HLS itself
  } else {
    hls = new Hls(options);
    hls.on(Hls.Events.LEVEL_SWITCHED, describe);
    hls.on(Hls.Events.ERROR, (_, data) => {
      state.errors.push(`${data.type}: ${data.details}`);
      if (data.fatal) fail(new Error(`playback failed: ${data.details}`));
    });
    hls.loadSource(playback.url);
    hls.attachMedia(video);
  }
  video.onplaying = () => {
    state.state = "playing";
    describe();
    if (state.wallClockAtStart === null) state.wallClockAtStart = state.wallClock;
  };
  video.ontimeupdate = describe;
  video.play().catch(() => {});
}

async function showTimeline(cameraId) {
  const now = Date.now();
  const from = new Date(now - DAY_MS).toISOString();
  const [recordings, events] = await Promise.all([
    api(`/api/cameras/${cameraId}/recordings?from=${from}&limit=1000`),
    api(`/api/events?camera_id=${cameraId}&from=${from}&limit=500`),
  ]);
  const outside = events.data.filter((e) => !isPipelineEvent(e.type));
  const line = $("timeline");
  const at = (ms) => `${Math.max(0, Math.min(100, ((ms - (now - DAY_MS)) / DAY_MS) * 100))}%`;
  const marks = document.createDocumentFragment();
  for (const span of recordings.spans) {
    const mark = document.createElement("div");
    mark.className = "span";
    const [start, end] = [Date.parse(span.start), Date.parse(span.end)];
    mark.style.left = at(start);
    mark.style.width = `max(1px, calc(${at(end)} - ${at(start)}))`;
    marks.append(mark);
  }
  for (const event of outside) {
    const mark = document.createElement("div");
    mark.className = "event";
    mark.style.left = at(Date.parse(event.at));
    mark.title = `${event.type} at ${new Date(event.at).toLocaleString()}`;
    mark.onclick = (click) => {
      click.stopPropagation();
      playRecorded(cameraId, Date.parse(event.at) - 10_000).catch(fail);
    };
    marks.append(mark);
  }
  const nowMark = document.createElement("div");
  nowMark.className = "now";
  nowMark.style.left = "calc(100% - 2px)";
  marks.append(nowMark);
  line.replaceChildren(marks);
  line.onclick = (click) => {
    const box = line.getBoundingClientRect();
    const ms = now - DAY_MS + ((click.clientX - box.left) / box.width) * DAY_MS;
    playRecorded(cameraId, ms).catch(fail);
  };
  $("live").onclick = () => play(cameraId).catch(fail);
  $("scale-from").textContent = new Date(now - DAY_MS).toLocaleString();
  $("recordings").hidden = false;
  $("scale").hidden = false;
  Object.assign(state, { spans: recordings.spans.length, events: outside.length });
}

function isPipelineEvent(type) { // the pipeline's own bookkeeping is not worth a mark
  return !type.includes(".") && type !== "camera_online" && type !== "camera_offline";
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
  const camera = fragment.get("camera");
  const at = fragment.get("at") && Date.parse(fragment.get("at")); // a recording from then
  listCameras()
    .then(() => camera && (at ? playRecorded(camera, at) : play(camera)))
    .catch(fail);
}
