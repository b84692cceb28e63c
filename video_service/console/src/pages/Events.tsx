// Events: a live feed (newest on top) over the stored events, paged back with "Older".
// The filters are in the address (site, camera, type), so a link shows the same feed.
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState, type FormEvent } from "react";
import { listEvents, listSites, type EventFilters, type VideoEvent } from "../api";
import { useEventFeed, type FeedStatus } from "../eventFeed";
import { EventRow } from "../components/EventRow";
import { usePageTitle } from "../hooks";
import { navigate, useLocation, withQuery } from "../router";
import { SESSION_KEY } from "../session";

const PAGE_SIZE = 50;
/** The pipeline's own event types, offered in the type filter (any other type may come
 * from outside: cameras, analytics, alarms). */
const PIPELINE_EVENT_TYPES = [
  "camera_online", "camera_offline", "publish_refused", "segment_recorded", "ladder_job_done",
  "ladder_job_failed", "ladder_job_skipped", "viewer_joined", "viewer_left", "disk_space",
] as const;

const FEED_STATUS: Record<FeedStatus, string> = {
  connecting: "Connecting to the live feed…",
  live: "Live: new events appear at the top.",
  reconnecting: "The live feed dropped; reconnecting…",
  closed: "The live feed is closed.",
};

function mergedNewestFirst(...lists: VideoEvent[][]): VideoEvent[] {
  const byId = new Map<number, VideoEvent>();
  for (const list of lists) for (const event of list) if (!byId.has(event.id)) byId.set(event.id, event);
  return [...byId.values()].sort((a, b) => b.id - a.id);
}

function FilterForm({ filters }: { filters: EventFilters }) {
  const sites = useQuery({
    queryKey: ["sites"],
    queryFn: ({ signal }) => listSites(signal),
    staleTime: 10000,
  });
  const [siteId, setSiteId] = useState(filters.siteId ?? "");
  const [cameraId, setCameraId] = useState(filters.cameraId ?? "");
  const [type, setType] = useState(filters.type ?? "");
  const apply = (event: FormEvent) => {
    event.preventDefault();
    navigate(withQuery("/events", { site: siteId, camera: cameraId.trim(), type: type.trim() }));
  };
  const siteList = sites.data?.data ?? [];
  return (
    <form className="filters" onSubmit={apply} aria-label="Event filters">
      <label htmlFor="events-site">Site</label>
      <select id="events-site" value={siteId} onChange={(event) => setSiteId(event.target.value)}>
        <option value="">All sites</option>
        {siteId && sites.isSuccess && !siteList.some((site) => site.id === siteId) && (
          <option value={siteId}>{siteId}</option>
        )}
        {siteList.map((site) => (
          <option key={site.id} value={site.id}>
            {site.name}
          </option>
        ))}
      </select>
      <label htmlFor="events-camera">Camera ID</label>
      <input
        id="events-camera"
        value={cameraId}
        onChange={(event) => setCameraId(event.target.value)}
        spellCheck={false}
        autoComplete="off"
      />
      <label htmlFor="events-type">Type</label>
      <input
        id="events-type"
        list="event-types"
        value={type}
        onChange={(event) => setType(event.target.value)}
        spellCheck={false}
        autoComplete="off"
      />
      <datalist id="event-types">
        {PIPELINE_EVENT_TYPES.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      <button type="submit">Apply filters</button>
    </form>
  );
}

export default function EventsPage() {
  usePageTitle("Events");
  const { search } = useLocation();
  const queryClient = useQueryClient();
  const filters: EventFilters = useMemo(
    () => ({ siteId: search.get("site") || null, cameraId: search.get("camera") || null, type: search.get("type") || null }),
    [search],
  );
  const [generation, setGeneration] = useState(0);
  const feed = useEventFeed(filters, generation);

  const stored = useInfiniteQuery({
    queryKey: ["events", "list", filters],
    queryFn: ({ pageParam, signal }) => listEvents({ ...filters, limit: PAGE_SIZE, after: pageParam }, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next ?? undefined,
    staleTime: 60000,
    refetchOnWindowFocus: false,
  });
  const shown = mergedNewestFirst(feed.events, ...(stored.data?.pages.map((page) => page.data) ?? []));

  const reconnect = () => {
    // A feed closed for good is usually a session that ended: the gate then signs in again.
    void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
    setGeneration((count) => count + 1);
  };

  return (
    <section className="events-page">
      <h1>Events</h1>
      <FilterForm key={`${filters.siteId}|${filters.cameraId}|${filters.type}`} filters={filters} />
      <p className={`feed-status feed-${feed.status}`} role="status">
        {FEED_STATUS[feed.status]}{" "}
        {feed.status === "closed" && (
          <button type="button" onClick={reconnect}>
            Reconnect
          </button>
        )}
      </p>
      {stored.isError && (
        <p className="error" role="alert">
          {stored.error.message}
        </p>
      )}
      {stored.isPending && <p role="status">Loading events…</p>}
      {stored.isSuccess && !shown.length && <p>No events match these filters.</p>}
      {shown.length > 0 && (
        <ol className="event-feed plain">
          {shown.map((event) => (
            <EventRow key={event.id} event={event} />
          ))}
        </ol>
      )}
      {stored.hasNextPage && (
        <button type="button" onClick={() => void stored.fetchNextPage()} disabled={stored.isFetchingNextPage}>
          {stored.isFetchingNextPage ? "Loading older events…" : "Older"}
        </button>
      )}
    </section>
  );
}
