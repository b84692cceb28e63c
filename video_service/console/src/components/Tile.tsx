// One camera on the wall: its name, whether it is online, its newest event, and its picture
// (still, then live video while the tile is on screen and the tab is visible). The whole
// tile is one link to the camera's page.
import { useQuery } from "@tanstack/react-query";
import { useRef } from "react";
import { listEvents, type Camera } from "../api";
import { formatFullTime, formatTime, STATE_LABELS } from "../format";
import { useInView, useLiveVideo, usePageVisible } from "../hooks";
import type { LiveState } from "../live";
import { Link } from "../router";
import { Screen } from "./Screen";

const NEWEST_EVENT_REFRESH_MS = 30000;

function onlineText(camera: Camera, state: LiveState): string {
  if (!camera.enabled) return "Disabled";
  return STATE_LABELS[state];
}

export function Tile({ camera }: { camera: Camera }) {
  const tileRef = useRef<HTMLElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const inView = useInView(tileRef);
  const pageVisible = usePageVisible();
  const seen = inView && pageVisible;
  const live = useLiveVideo(camera.id, "sub", seen && camera.enabled, videoRef).state;
  const state: LiveState = camera.enabled ? live : "offline";
  const newest = useQuery({
    queryKey: ["events", "newest", camera.id],
    queryFn: ({ signal }) => listEvents({ cameraId: camera.id, limit: 1 }, signal),
    staleTime: 10000,
    refetchInterval: seen ? NEWEST_EVENT_REFRESH_MS : false,
    enabled: seen,
  });
  const event = newest.data?.data[0];
  const headingId = `tile-${camera.id}`;
  return (
    <article
      ref={tileRef}
      className={`tile tile-${state}`}
      data-testid="tile"
      data-camera-id={camera.id}
      data-state={state}
      aria-labelledby={headingId}
    >
      <Screen cameraId={camera.id} cameraName={camera.name} state={state} videoRef={videoRef} seen={seen} />
      <div className="tile-caption">
        <h2 className="tile-name" id={headingId}>
          <Link className="tile-link" to={`/cameras/${encodeURIComponent(camera.id)}`}>
            {camera.name}
          </Link>
        </h2>
        <p className="tile-status">
          <span className={`badge badge-${state}`}>{onlineText(camera, state)}</span>
          {event && (
            <span className="tile-event">
              {event.type}{" "}
              <time dateTime={event.at} title={formatFullTime(event.at)}>
                {formatTime(event.at)}
              </time>
            </span>
          )}
        </p>
      </div>
    </article>
  );
}
