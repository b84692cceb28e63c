// The live events feed: server-sent events from /api/events/stream (same origin, so the
// session cookie goes with it; EventSource reconnects by itself with Last-Event-ID).
import { useEffect, useState } from "react";
import { eventStreamUrl, type EventFilters, type VideoEvent } from "./api";

const KEPT = 500;

export type FeedStatus = "connecting" | "live" | "reconnecting" | "closed";

function parsedEvent(data: unknown): VideoEvent | null {
  if (typeof data !== "string") return null;
  try {
    const event = JSON.parse(data) as Partial<VideoEvent> | null;
    if (event && typeof event.id === "number" && typeof event.type === "string" && typeof event.at === "string") {
      return { camera_id: null, site_id: null, detail: {}, ...event } as VideoEvent;
    }
  } catch {
    // Not JSON: not an event.
  }
  return null;
}

/** Events that arrived since the feed opened (newest first), and the connection's state.
 * `generation` changes to open a fresh connection (after it closed for good). */
export function useEventFeed(filters: EventFilters, generation: number): { events: VideoEvent[]; status: FeedStatus } {
  const [events, setEvents] = useState<VideoEvent[]>([]);
  const [status, setStatus] = useState<FeedStatus>("connecting");
  const { siteId, cameraId, type } = filters;
  useEffect(() => {
    setEvents([]);
    setStatus("connecting");
    // Unnamed events (`named=false`): EventSource hands every one to onmessage, whatever
    // its type (a named one would need a listener for each type, and types are open).
    const source = new EventSource(eventStreamUrl({ siteId, cameraId, type }, false));
    const receive = (message: MessageEvent) => {
      const event = parsedEvent(message.data);
      if (!event) return;
      setEvents((shown) => (shown.some((seen) => seen.id === event.id) ? shown : [event, ...shown].slice(0, KEPT)));
    };
    source.onmessage = receive;
    source.onopen = () => setStatus("live");
    source.onerror = () => setStatus(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    return () => source.close();
  }, [siteId, cameraId, type, generation]);
  return { events, status };
}
