// WHEP (WebRTC-HTTP egress) client: one receive-only peer connection per viewer, the offer
// POSTed whole once ICE gathering completes (the edge takes no trickled candidates), the
// answer from the 201's body, and the session's Location to DELETE when done.
import { abortable, abortError } from "./abort";
import { shownLine } from "./format";

/** Longer than this gathering candidates: POST what was gathered (enough on a LAN). */
const GATHERING_LIMIT_MS = 3000;

export class WhepRefused extends Error {
  readonly status: number;

  constructor(status: number, reason: string) {
    const said = shownLine(reason);
    super(`the edge refused live view (${status})${said ? `: ${said}` : ""}`);
    this.name = "WhepRefused";
    this.status = status;
  }
}

export interface WhepSession {
  readonly connection: RTCPeerConnection;
  /** The sound sent (`audio/PCMU`), or why there is none (the edge's `X-Audio`). */
  readonly audio: string | null;
  /** Resolves when the connection fails or closes (the camera left, the edge restarted). */
  readonly ended: Promise<void>;
  stop(): void;
}

// Sessions still open when the page goes away are ended then, rather than held by the edge
// until ICE consent lapses (about 30 s).
const open = new Set<string>();
window.addEventListener("pagehide", () => {
  for (const session of open) {
    fetch(session, { method: "DELETE", keepalive: true, credentials: "omit" }).catch(() => {});
  }
  open.clear();
});

/** The session's URL, only where the edge that answered serves its sessions: never a URL
 * an edge's answer points elsewhere (the API, with the user's cookie). */
function sessionOn(location: string, whepUrl: string): string | null {
  const url = new URL(location, whepUrl);
  const edge = new URL(whepUrl);
  return url.origin === edge.origin && url.pathname.startsWith("/whep/sessions/") ? url.href : null;
}

function gathered(connection: RTCPeerConnection, signal: AbortSignal): Promise<void> {
  if (connection.iceGatheringState === "complete") return Promise.resolve();
  return abortable(new Promise<void>((resolve) => {
    const timer = window.setTimeout(resolve, GATHERING_LIMIT_MS);
    connection.addEventListener("icegatheringstatechange", () => {
      if (connection.iceGatheringState === "complete") {
        window.clearTimeout(timer);
        resolve();
      }
    });
  }), signal);
}

/**
 * Plays `whepUrl` (on the edge's origin) in `video`, with the camera's sound where `withSound`
 * (a wall's muted tile asks for none: the edge would send it to each tile all the same).
 * Rejects with WhepRefused when the edge answers anything but 201, with an AbortError when
 * `signal` aborts first; either way nothing is left open.
 */
export async function startWhep(
  whepUrl: string,
  video: HTMLVideoElement,
  signal: AbortSignal,
  withSound = true,
): Promise<WhepSession> {
  const connection = new RTCPeerConnection();
  let sessionUrl: string | null = null;
  let audio: string | null = null;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    connection.close();
    if (video.srcObject) video.srcObject = null;
    if (sessionUrl) {
      open.delete(sessionUrl);
      fetch(sessionUrl, { method: "DELETE", credentials: "omit" }).catch(() => {});
    }
  };
  try {
    connection.addTransceiver("video", { direction: "recvonly" });
    if (withSound) connection.addTransceiver("audio", { direction: "recvonly" });
    const media = new MediaStream();
    connection.addEventListener("track", (event) => {
      media.addTrack(event.track);
      if (video.srcObject !== media) video.srcObject = media;
    });
    await abortable(connection.setLocalDescription(await connection.createOffer()), signal);
    await gathered(connection, signal);
    const offer = connection.localDescription?.sdp ?? "";
    // A plain CORS request: the cookie is the API's, not the edge's; the URL carries the grant.
    const answered = await fetch(whepUrl, {
      credentials: "omit", // the edge's: the grant is in the URL, the API's cookie is not its
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: offer,
      signal,
    });
    const location = answered.headers.get("Location");
    if (answered.status === 201 && location) {
      sessionUrl = sessionOn(location, whepUrl);
      if (sessionUrl) open.add(sessionUrl);
    }
    const answer = await abortable(answered.text(), signal);
    if (answered.status !== 201) throw new WhepRefused(answered.status, answer);
    const sound = answered.headers.get("X-Audio");
    audio = sound === null ? null : shownLine(sound);
    if (signal.aborted) throw abortError();
    await abortable(connection.setRemoteDescription({ type: "answer", sdp: answer }), signal);
  } catch (error) {
    stop();
    throw error;
  }
  const ended = new Promise<void>((resolve) => {
    const check = () => {
      if (connection.connectionState === "failed" || connection.connectionState === "closed") resolve();
    };
    connection.addEventListener("connectionstatechange", check);
  });
  signal.addEventListener("abort", stop, { once: true });
  return { connection, audio, ended, stop };
}
