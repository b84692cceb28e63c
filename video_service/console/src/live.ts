// Live view of one camera in one <video>: WebRTC from the camera's edge first (well under a
// second behind), HLS from the CDN when the edge refuses or no frame comes in time; again
// after a pause whenever either ends, until the caller aborts.
import { abortable, isAbort, sleep } from "./abort";
import { endViewerSession, getPlayback, isApiError, type Playback } from "./api";
import { startHls } from "./hls";
import { startWhep } from "./whep";

/** What a tile or the camera page shows: `still` until video plays (or while connecting). */
export type LiveState = "still" | "webrtc" | "hls" | "offline";

/** `sub`: the wall's small picture (the sub-stream where live); `main`: the camera's own. */
export type Stream = "sub" | "main";

const WEBRTC_FIRST_FRAME_MS = 4000;
const HLS_FIRST_FRAME_MS = 20000;
const OFFLINE_RETRY_MS = 15000;
const ERROR_RETRY_MS = 10000;
const ENDED_RETRY_MS = 2000;

export interface LiveOptions {
  cameraId: string;
  stream: Stream;
  video: HTMLVideoElement;
  signal: AbortSignal;
  onState: (state: LiveState) => void;
}

/** Resolves once `video` shows a frame; rejects after `waitMs` without one. */
export function firstFrame(video: HTMLVideoElement, waitMs: number, signal: AbortSignal): Promise<void> {
  video.play().catch(() => {
    // Autoplay of a muted video is allowed; a refusal here shows as no frame.
  });
  if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) return Promise.resolve();
  return abortable(new Promise<void>((resolve, reject) => {
    const done = () => {
      window.clearTimeout(timer);
      window.clearInterval(poll);
      resolve();
    };
    const timer = window.setTimeout(() => {
      window.clearInterval(poll);
      reject(new Error(`no picture within ${waitMs / 1000} s`));
    }, waitMs);
    // readyState is checked too: requestVideoFrameCallback does not fire for a hidden video.
    const poll = window.setInterval(() => {
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) done();
    }, 250);
    if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(() => done());
    signal.addEventListener("abort", () => {
      window.clearTimeout(timer);
      window.clearInterval(poll);
    }, { once: true });
  }), signal);
}

/** The playback answer, or null when the camera is offline or disabled (409). */
async function playbackOrOffline(cameraId: string, webrtcOnly: boolean, signal: AbortSignal): Promise<Playback | null> {
  try {
    return await getPlayback(cameraId, { webrtcOnly, signal });
  } catch (error) {
    if (isApiError(error, 409)) return null;
    throw error;
  }
}

/** Plays over WebRTC until the connection ends; false if it never showed a frame. */
async function playWebRtc(url: string, options: LiveOptions, onPlaying: () => void): Promise<boolean> {
  const { video, signal } = options;
  let session;
  try {
    session = await startWhep(url, video, signal);
    await firstFrame(video, WEBRTC_FIRST_FRAME_MS, signal);
  } catch (error) {
    session?.stop();
    if (isAbort(error)) throw error;
    return false;
  }
  try {
    onPlaying();
    await abortable(session.ended, signal);
    return true;
  } finally {
    session.stop();
  }
}

async function playHls(playback: Playback, options: LiveOptions): Promise<void> {
  const { video, signal } = options;
  let session;
  try {
    session = await startHls(playback.url, video, signal);
    await firstFrame(video, HLS_FIRST_FRAME_MS, signal);
    options.onState("hls");
    await abortable(session.ended, signal);
  } finally {
    session?.stop();
  }
}

/** One attempt: resolves with how long to wait before the next. */
async function playOnce(options: LiveOptions): Promise<number> {
  const { cameraId, stream, signal } = options;
  // A viewer session opened here is ended here too (it counts towards the camera's
  // viewers and the CDN's ladder until then).
  let viewerSession: string | null = null;
  const endViewer = () => {
    if (viewerSession) endViewerSession(cameraId, viewerSession);
    viewerSession = null;
  };
  try {
    // The wall asks without a viewer session (WebRTC needs none); the camera page opens one
    // up front so the HLS fallback costs no second request.
    const first = await playbackOrOffline(cameraId, stream === "sub", signal);
    if (first === null) {
      options.onState("offline");
      return OFFLINE_RETRY_MS;
    }
    viewerSession = first.session_id;
    options.onState("still");
    const whepUrl = stream === "sub" ? (first.webrtc_sub ?? first.webrtc) : first.webrtc;
    if (whepUrl) {
      const played = await playWebRtc(whepUrl, options, () => {
        options.onState("webrtc");
        endViewer(); // WebRTC needs no ladder: the viewer session stops counting now
      });
      if (played) return ENDED_RETRY_MS;
      options.onState("still");
    }
    const playback = viewerSession ? first : await playbackOrOffline(cameraId, false, signal);
    if (playback === null) {
      options.onState("offline");
      return OFFLINE_RETRY_MS;
    }
    viewerSession = playback.session_id;
    await playHls(playback, options);
    options.onState("still");
    return ENDED_RETRY_MS;
  } finally {
    endViewer();
  }
}

/** Live view until `options.signal` aborts; every stream it opened is closed by then. */
export async function runLive(options: LiveOptions): Promise<void> {
  const { signal } = options;
  while (!signal.aborted) {
    let pause: number;
    try {
      pause = await playOnce(options);
    } catch (error) {
      if (isAbort(error) || signal.aborted) return;
      options.onState("still");
      pause = ERROR_RETRY_MS;
    }
    try {
      await sleep(pause, signal);
    } catch {
      return;
    }
  }
}
