// The video wall: one page of a site's cameras as a grid of tiles. The address holds the
// site, the layout and the page, so a reload or a shared link shows the same wall; a
// signed-in user can save the site and layout under a name (SavedLayouts).
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { listCameras, listSites } from "../api";
import { SavedLayouts } from "../components/SavedLayouts";
import { Tile } from "../components/Tile";
import { usePageTitle } from "../hooks";
import { navigate, useLocation, withQuery } from "../router";

export const LAYOUTS = [1, 4, 9, 16, 25, 36] as const;
const DEFAULT_LAYOUT = 16;

function layoutOf(raw: string | null): number {
  const asked = Number(raw);
  return (LAYOUTS as readonly number[]).includes(asked) ? asked : DEFAULT_LAYOUT;
}

function pageOf(raw: string | null): number {
  const asked = Number(raw);
  return Number.isInteger(asked) && asked >= 1 ? asked : 1;
}

export default function WallPage() {
  usePageTitle("Wall");
  const { search } = useLocation();
  const layout = layoutOf(search.get("layout"));
  const page = pageOf(search.get("page"));
  const sites = useQuery({
    queryKey: ["sites"],
    queryFn: ({ signal }) => listSites(signal),
    staleTime: 10000,
  });
  const siteList = sites.data?.data ?? [];
  const askedSite = search.get("site");
  const siteId = askedSite ?? siteList[0]?.id ?? null;
  const show = (changes: { site?: string; layout?: number; page?: number }) => {
    const next = { site: siteId, layout, page, ...changes };
    navigate(withQuery("/wall", { site: next.site, layout: next.layout, page: next.page }));
  };

  // The defaults are written into the address, so that it always says what is shown.
  useEffect(() => {
    if (!askedSite && siteId) {
      navigate(withQuery("/wall", { site: siteId, layout, page }), { replace: true });
    }
  }, [askedSite, siteId, layout, page]);

  // Pages are reached through `after` cursors: page P needs pages 1..P-1 fetched first,
  // which this query keeps (Previous costs nothing; a reload at page 3 walks there).
  const cameras = useInfiniteQuery({
    queryKey: ["cameras", siteId, layout],
    queryFn: ({ pageParam, signal }) => listCameras({ siteId: siteId ?? "", limit: layout, after: pageParam }, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next ?? undefined,
    enabled: siteId !== null,
    staleTime: 10000,
  });
  const { data, hasNextPage, isFetchingNextPage, fetchNextPage } = cameras;
  const loaded = data?.pages.length ?? 0;
  useEffect(() => {
    if (loaded > 0 && loaded < page && hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [loaded, page, hasNextPage, isFetchingNextPage, fetchNextPage]);

  const current = data?.pages[page - 1];
  const total = data?.pages[0]?.count;
  const pageCount = typeof total === "number" ? Math.max(1, Math.ceil(total / layout)) : null;
  const hasNext = current ? current.next !== null && (pageCount === null || page < pageCount) : false;
  const walking = loaded < page && (hasNextPage || isFetchingNextPage);
  const columns = Math.round(Math.sqrt(layout));

  return (
    <section className="wall">
      <div className="wall-bar">
        <h1>Wall</h1>
        <label htmlFor="wall-site">Site</label>
        <select
          id="wall-site"
          value={siteId ?? ""}
          onChange={(event) => show({ site: event.target.value, page: 1 })}
          disabled={!siteList.length}
        >
          {!siteList.length && <option value="">{sites.isPending ? "Loading…" : "No sites"}</option>}
          {askedSite && sites.isSuccess && !siteList.some((site) => site.id === askedSite) && (
            <option value={askedSite}>{askedSite}</option>
          )}
          {siteList.map((site) => (
            <option key={site.id} value={site.id}>
              {site.name}
            </option>
          ))}
        </select>
        <label htmlFor="wall-layout">Layout</label>
        <select id="wall-layout" value={layout} onChange={(event) => show({ layout: Number(event.target.value), page: 1 })}>
          {LAYOUTS.map((count) => {
            const side = Math.round(Math.sqrt(count));
            return (
              <option key={count} value={count}>
                {count === 1 ? "1 camera" : `${count} cameras (${side} × ${side})`}
              </option>
            );
          })}
        </select>
        <nav className="pager" aria-label="Wall pages">
          <button type="button" onClick={() => show({ page: page - 1 })} disabled={page <= 1}>
            Previous
          </button>
          <span aria-live="polite">
            Page {page}
            {pageCount !== null && ` of ${pageCount}`}
          </span>
          <button type="button" onClick={() => show({ page: page + 1 })} disabled={!hasNext}>
            Next
          </button>
        </nav>
      </div>
      <SavedLayouts siteId={siteId} layout={layout} />

      {sites.isError && (
        <p className="error" role="alert">
          Sites: {sites.error.message}
        </p>
      )}
      {cameras.isError && (
        <p className="error" role="alert">
          Cameras: {cameras.error.message}
        </p>
      )}
      {sites.isSuccess && !siteList.length && <p>No sites to show.</p>}
      {(cameras.isPending && siteId !== null) || walking ? (
        <p role="status">Loading cameras…</p>
      ) : current ? (
        current.data.length ? (
          <div className={`wall-grid columns-${columns}`}>
            {current.data.map((camera) => (
              <Tile key={camera.id} camera={camera} />
            ))}
          </div>
        ) : (
          <p>No cameras on this page.</p>
        )
      ) : (
        data && (
          <p>
            There is no page {page}.{" "}
            <button type="button" className="link-button" onClick={() => show({ page: 1 })}>
              Go to page 1
            </button>
          </p>
        )
      )}
    </section>
  );
}
