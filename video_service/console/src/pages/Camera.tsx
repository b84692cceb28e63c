// One camera: its live main stream (WebRTC, else HLS) and its recent events.
import { useQuery } from "@tanstack/react-query";
import { useRef } from "react";
import { getCamera, isApiError, listEvents } from "../api";
import { Screen } from "../components/Screen";
import { formatDetail, formatFullTime, STATE_LABELS } from "../format";
import { useLiveVideo, usePageTitle, usePageVisible } from "../hooks";
import type { LiveState } from "../live";
import { Link, withQuery } from "../router";

export default function CameraPage({ cameraId }: { cameraId: string }) {
  const camera = useQuery({
    queryKey: ["camera", cameraId],
    queryFn: ({ signal }) => getCamera(cameraId, signal),
    staleTime: 2000,
  });
  const events = useQuery({
    queryKey: ["events", "camera", cameraId],
    queryFn: ({ signal }) => listEvents({ cameraId, limit: 20 }, signal),
    staleTime: 10000,
  });
  const videoRef = useRef<HTMLVideoElement>(null);
  const pageVisible = usePageVisible();
  const enabled = camera.data?.enabled ?? false;
  const live = useLiveVideo(cameraId, "main", pageVisible && enabled, videoRef);
  const state: LiveState = camera.data && !enabled ? "offline" : live;
  const name = camera.data?.name ?? "Camera";
  usePageTitle(name);

  if (camera.isError) {
    return (
      <section>
        <h1>{isApiError(camera.error, 404) ? "No such camera" : "Camera"}</h1>
        <p className="error" role="alert">
          {camera.error.message}
        </p>
        <p>
          <Link to="/wall">Back to the wall</Link>
        </p>
      </section>
    );
  }
  const data = camera.data;
  return (
    <section className="camera-page">
      <div className="camera-title">
        <h1>{name}</h1>
        <span className={`badge badge-${state}`} data-testid="camera-state" data-state={state}>
          {data && !data.enabled ? "Disabled" : STATE_LABELS[state]}
        </span>
      </div>
      {data && (
        <p className="camera-facts">
          <Link to={withQuery("/wall", { site: data.site_id })}>Site {data.site_id}</Link>
          {" · "}
          {data.mode === "push" ? "pushes to the edge" : "pulled by the edge"}
          {data.sub_stream &&
            ` · sub-stream ${data.sub_stream.codec} ${data.sub_stream.width}×${data.sub_stream.height}`}
        </p>
      )}
      <div className="camera-screen">
        <Screen cameraId={cameraId} cameraName={name} state={state} videoRef={videoRef} seen={pageVisible} controls />
      </div>

      <h2>Recent events</h2>
      {events.isPending && <p role="status">Loading events…</p>}
      {events.isError && (
        <p className="error" role="alert">
          {events.error.message}
        </p>
      )}
      {events.data && !events.data.data.length && <p>No events yet.</p>}
      {events.data && events.data.data.length > 0 && (
        <ul className="event-list plain">
          {events.data.data.map((event) => (
            <li key={event.id}>
              <time dateTime={event.at}>{formatFullTime(event.at)}</time> <strong>{event.type}</strong>
              {Object.keys(event.detail).length > 0 && <span className="detail"> {formatDetail(event.detail)}</span>}
            </li>
          ))}
        </ul>
      )}
      <p>
        <Link to={withQuery("/events", { camera: cameraId })}>All events of this camera</Link>
      </p>
    </section>
  );
}
