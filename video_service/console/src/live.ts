// Live view of one camera in one <video>: WebRTC from the camera's edge first (well under a
// second behind), HLS from the CDN when the edge refuses or no frame comes in time; again
// after a pause whenever either ends, until the caller aborts.
import { abortable, isAbort, sleep } from "./abort";
import { endViewerSession, getPlayback, isApiError, type Playback } from "./api";
import { shownLine } from "./format";
import { startHls, type HlsSession } from "./hls";
import { startWhep } from "./whep";

/** What a tile or the camera page shows: `still` until video plays (or while connecting). */
export type LiveState = "still" | "webrtc" | "hls" | "offline";

/** `sub`: the wall's small picture (the sub-stream where live); `main`: the camera's own. */
export type Stream = "sub" | "main";

/** How live video reaches the page, as a camera page says under it. */
export interface LiveFacts {
  transport: "webrtc" | "hls";
  /** From asking for playback to the first picture, ms. */
  firstPictureMs: number;
  /** WebRTC: the sound sent, or why there is none (the edge's `X-Audio`). */
  sound: string | null;
  /** HLS: why not WebRTC, where it was tried (the edge's refusal, no picture in time). */
  webrtcRefused: string | null;
  /** HLS: the rung and the CDN playing now. */
  rung: string | null;
  cdn: string | null;
}

const WEBRTC_FIRST_FRAME_MS = 4000;
const FACTS_PERIOD_MS = 1000;
const HLS_FIRST_FRAME_MS = 20000;
const OFFLINE_RETRY_MS = 15000;
const ERROR_RETRY_MS = 10000;
const ENDED_RETRY_MS = 2000;

export interface LiveOptions {
  cameraId: string;
  stream: Stream;
  /** Skip WebRTC: live over HLS from the CDN (the camera page's `?transport=hls`). */
  hlsOnly?: boolean;
  video: HTMLVideoElement;
  signal: AbortSignal;
  onState: (state: LiveState) => void;
  /** Told what plays once a picture shows (and each second over HLS); null when it stops. */
  onFacts?: (facts: LiveFacts | null) => void;
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

function errorText(error: unknown): string {
  return shownLine(error instanceof Error ? error.message : String(error));
}

/** Plays over WebRTC until the connection ends: true; if it never showed a frame, why. */
async function playWebRtc(url: string, options: LiveOptions, askedAt: number, onPlaying: () => void): Promise<true | string> {
  const { video, signal } = options;
  let session;
  try {
    session = await startWhep(url, video, signal, options.stream === "main");
    await firstFrame(video, WEBRTC_FIRST_FRAME_MS, signal);
  } catch (error) {
    session?.stop();
    if (isAbort(error)) throw error;
    return errorText(error);
  }
  try {
    onPlaying();
    options.onFacts?.({
      transport: "webrtc",
      firstPictureMs: Math.round(performance.now() - askedAt),
      sound: session.audio,
      webrtcRefused: null,
      rung: null,
      cdn: null,
    });
    await abortable(session.ended, signal);
    return true;
  } finally {
    session.stop();
  }
}

async function playHls(playback: Playback, options: LiveOptions, askedAt: number, webrtcRefused: string | null): Promise<void> {
  const { video, signal } = options;
  let session: HlsSession | undefined;
  let timer: number | undefined;
  try {
    session = await startHls(playback.url, video, signal);
    await firstFrame(video, HLS_FIRST_FRAME_MS, signal);
    options.onState("hls");
    const started = session;
    const firstPictureMs = Math.round(performance.now() - askedAt);
    let told = "";
    const tell = () => {
      const { rung, cdn } = started.facts();
      const now = `${rung} ${cdn}`;
      if (now === told) return; // unchanged: no new render
      told = now;
      options.onFacts?.({ transport: "hls", firstPictureMs, sound: null, webrtcRefused, rung, cdn: cdn ?? playback.cdn });
    };
    tell();
    timer = window.setInterval(tell, FACTS_PERIOD_MS);
    await abortable(session.ended, signal);
  } finally {
    window.clearInterval(timer);
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
  const askedAt = performance.now();
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
    const offered = stream === "sub" ? (first.webrtc_sub ?? first.webrtc) : first.webrtc;
    const whepUrl = options.hlsOnly ? null : offered;
    let webrtcRefused: string | null = null;
    if (whepUrl) {
      const played = await playWebRtc(whepUrl, options, askedAt, () => {
        options.onState("webrtc");
        endViewer(); // WebRTC needs no ladder: the viewer session stops counting now
      });
      if (played === true) return ENDED_RETRY_MS;
      webrtcRefused = played;
      options.onState("still");
    }
    const playback = viewerSession ? first : await playbackOrOffline(cameraId, false, signal);
    if (playback === null) {
      options.onState("offline");
      return OFFLINE_RETRY_MS;
    }
    viewerSession = playback.session_id;
    await playHls(playback, options, askedAt, webrtcRefused);
    options.onState("still");
    return ENDED_RETRY_MS;
  } finally {
    options.onFacts?.(null);
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
