// HLS: live view's fallback when WebRTC is refused or shows nothing, and recordings (a VOD
// playlist, started at a moment into it). hls.js (fetched only now, as its own chunk) where
// Media Source Extensions exist, the browser's own HLS where they don't (iPhone Safari).
import { abortable } from "./abort";

const HLS_TYPE = "application/vnd.apple.mpegurl";

/** What is playing now, where hls.js knows it (the browser's own HLS says none of it). */
export interface HlsFacts {
  /** The rung's height, as "360p". */
  rung: string | null;
  /** The CDN serving it (the variant's PATHWAY-ID). */
  cdn: string | null;
  /** The wall-clock time of the frame shown, ms since the epoch (EXT-X-PROGRAM-DATE-TIME). */
  wallClock: number | null;
}

const NO_FACTS: HlsFacts = { rung: null, cdn: null, wallClock: null };

export interface HlsSession {
  /** Resolves on a fatal playback error (an expired URL, the stream gone). */
  readonly ended: Promise<void>;
  facts(): HlsFacts;
  stop(): void;
}

function hasMediaSource(): boolean {
  return "MediaSource" in window || "ManagedMediaSource" in window;
}

function playNatively(url: string, video: HTMLVideoElement, startAt: number | undefined): HlsSession {
  let fail = () => {};
  const ended = new Promise<void>((resolve) => {
    fail = resolve;
  });
  video.addEventListener("error", fail, { once: true });
  if (startAt) {
    video.addEventListener("loadedmetadata", () => {
      video.currentTime = startAt;
    }, { once: true });
  }
  video.src = url;
  return {
    ended,
    facts: () => NO_FACTS,
    stop() {
      video.removeEventListener("error", fail);
      video.removeAttribute("src");
      video.load();
    },
  };
}

/** Plays `url` in `video`: live, or with `startAt` a recording from that many seconds in. */
export async function startHls(
  url: string,
  video: HTMLVideoElement,
  signal: AbortSignal,
  startAt?: number,
): Promise<HlsSession> {
  const native = video.canPlayType(HLS_TYPE) !== "";
  if (native && !hasMediaSource()) return playNatively(url, video, startAt);
  const { default: Hls } = await abortable(import("hls.js"), signal);
  if (!Hls.isSupported()) {
    if (native) return playNatively(url, video, startAt);
    throw new Error("this browser plays no HLS");
  }
  // No worker: hls.js would start it from a blob: URL, which the Content-Security-Policy
  // (script-src 'self', no worker-src) refuses; transmuxing on the page costs little here.
  const hls = new Hls(
    startAt === undefined
      ? { enableWorker: false, liveSyncDurationCount: 3, backBufferLength: 30 }
      : { enableWorker: false, startPosition: startAt },
  );
  const ended = new Promise<void>((resolve) => {
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) resolve();
    });
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  return {
    ended,
    facts() {
      const level = hls.currentLevel >= 0 ? hls.levels[hls.currentLevel] : undefined;
      return {
        rung: level?.height ? `${level.height}p` : null,
        cdn: level?.attrs["PATHWAY-ID"] ?? null,
        wallClock: hls.playingDate?.getTime() ?? null,
      };
    },
    stop() {
      hls.destroy();
      video.removeAttribute("src");
      video.load();
    },
  };
}
