// One event in the feed: when, what, which camera, and the picture of that moment.
import { useState } from "react";
import { eventStillUrl, type VideoEvent } from "../api";
import { formatDetail, formatFullTime, formatTime } from "../format";
import { Link } from "../router";

function Thumbnail({ event }: { event: VideoEvent }) {
  const [missing, setMissing] = useState(false);
  if (!event.camera_id || missing) return <span className="thumb thumb-none" aria-hidden="true" />;
  return (
    <img
      className="thumb"
      src={eventStillUrl(event.id)}
      alt={`Camera ${event.camera_id} at the ${event.type} event`}
      loading="lazy"
      decoding="async"
      width={160}
      height={90}
      onError={() => setMissing(true)}
    />
  );
}

export function EventRow({ event }: { event: VideoEvent }) {
  const detail = formatDetail(event.detail);
  return (
    <li className="event-row" data-testid="event" data-event-id={event.id}>
      <Thumbnail event={event} />
      <div className="event-text">
        <p>
          <time dateTime={event.at} title={formatFullTime(event.at)}>
            {formatTime(event.at)}
          </time>{" "}
          <strong className="event-type">{event.type}</strong>
        </p>
        <p className="event-camera">
          {event.camera_id ? (
            <>
              Camera <Link to={`/cameras/${encodeURIComponent(event.camera_id)}`}>{event.camera_id}</Link>
            </>
          ) : (
            "No camera"
          )}
          {event.site_id && ` · site ${event.site_id}`}
        </p>
        {detail && <p className="detail">{detail}</p>}
      </div>
    </li>
  );
}
