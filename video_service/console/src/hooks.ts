// Small hooks shared by the pages: what is seen (tab and viewport), a clock for refreshing
// still pictures, the document's title, and a camera's live view in a <video>.
import { useEffect, useState, useSyncExternalStore, type RefObject } from "react";
import { runLive, type LiveFacts, type LiveState, type Stream } from "./live";

function subscribeVisibility(listener: () => void): () => void {
  document.addEventListener("visibilitychange", listener);
  return () => document.removeEventListener("visibilitychange", listener);
}

/** False while the tab is hidden (another tab, a minimised window). */
export function usePageVisible(): boolean {
  return useSyncExternalStore(subscribeVisibility, () => !document.hidden);
}

/** Whether `ref`'s element is in the viewport (false until first seen). */
export function useInView(ref: RefObject<Element | null>): boolean {
  const [inView, setInView] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    if (typeof IntersectionObserver === "undefined") {
      setInView(true);
      return;
    }
    const observer = new IntersectionObserver((entries) => {
      const entry = entries[entries.length - 1];
      if (entry) setInView(entry.isIntersecting);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return inView;
}

/** A number that changes every `periodMs` while `running` (a cache-busting `?t=`). */
export function useTicker(periodMs: number, running: boolean): number {
  const [tick, setTick] = useState(() => Math.floor(Date.now() / periodMs));
  useEffect(() => {
    if (!running) return;
    setTick(Math.floor(Date.now() / periodMs));
    const timer = window.setInterval(() => setTick(Math.floor(Date.now() / periodMs)), periodMs);
    return () => window.clearInterval(timer);
  }, [periodMs, running]);
  return tick;
}

export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · SPARC Video` : "SPARC Video";
  }, [title]);
}

export interface LiveVideo {
  state: LiveState;
  /** How the video plays, once it does. */
  facts: LiveFacts | null;
}

/**
 * Live view of `cameraId` in `videoRef` while `active`: stopped (WHEP session deleted, peer
 * connection closed, hls.js destroyed) as soon as it is not.
 */
export function useLiveVideo(
  cameraId: string,
  stream: Stream,
  active: boolean,
  videoRef: RefObject<HTMLVideoElement | null>,
  hlsOnly = false,
): LiveVideo {
  const [state, setState] = useState<LiveState>("still");
  const [facts, setFacts] = useState<LiveFacts | null>(null);
  useEffect(() => {
    const video = videoRef.current;
    if (!active || !video) return;
    const controller = new AbortController();
    const { signal } = controller;
    void runLive({
      cameraId,
      stream,
      hlsOnly,
      video,
      signal,
      onState: (next) => {
        if (!signal.aborted) setState(next);
      },
      onFacts: (next) => {
        if (!signal.aborted) setFacts(next);
      },
    });
    return () => {
      controller.abort();
      setFacts(null);
      // Offline stays known while unseen; anything playing is stopped now.
      setState((last) => (last === "offline" ? last : "still"));
    };
  }, [cameraId, stream, active, videoRef, hlsOnly]);
  return { state, facts };
}
