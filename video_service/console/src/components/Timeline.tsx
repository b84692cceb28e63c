// A stretch of a camera's time: recorded spans as bars, events as ticks (each named by its
// type in a <title>), the chosen moment as a marker. The picture is for the mouse (a click
// picks that moment); the same facts are in text beside it for everyone: its summary, the
// spans' list, the events' list on the page.
import type { MouseEvent } from "react";
import type { VideoEvent } from "../api";
import { formatFullTime } from "../format";
import { formatClock } from "../localTime";
import type { Span } from "../recordings";

const WIDTH = 1000;
const HEIGHT = 40;
const AXIS_STEPS = 4;

interface TimelineProps {
  from: Date;
  to: Date;
  spans: Span[];
  events: VideoEvent[];
  /** the moment "Play from" names, when it is inside */
  marker: Date | null;
  onPick: (at: Date) => void;
}

interface Bar {
  start: number;
  end: number;
}

function minutesText(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  const hours = Math.floor(minutes / 60);
  return hours ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

export function Timeline({ from, to, spans, events, marker, onPick }: TimelineProps) {
  const start = from.getTime();
  const length = to.getTime() - start;
  const x = (moment: number) => ((moment - start) / length) * WIDTH;
  const bars: Bar[] = spans
    .map((span) => ({ start: Math.max(Date.parse(span.start), start), end: Math.min(Date.parse(span.end), start + length) }))
    .filter((bar) => Number.isFinite(bar.start) && Number.isFinite(bar.end) && bar.end > bar.start);
  const recorded = bars.reduce((total, bar) => total + (bar.end - bar.start) / 1000, 0);
  const ticks = events
    .map((event) => ({ event, at: Date.parse(event.at) }))
    .filter(({ at }) => Number.isFinite(at) && at >= start && at <= start + length);
  const markerAt = marker && marker.getTime() >= start && marker.getTime() <= start + length ? marker.getTime() : null;
  const pick = (event: MouseEvent<SVGSVGElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    if (!box.width) return;
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    onPick(new Date(start + fraction * length));
  };
  const axis = Array.from({ length: AXIS_STEPS + 1 }, (_, step) => new Date(start + (step * length) / AXIS_STEPS));
  const summary =
    `${bars.length} recorded ${bars.length === 1 ? "span" : "spans"}, ${minutesText(recorded)} in all; ` +
    `${ticks.length} ${ticks.length === 1 ? "event" : "events"}.`;
  return (
    <figure className="timeline">
      <svg
        className="timeline-bars"
        data-testid="timeline"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Recordings and events from ${formatFullTime(from.toISOString())} to ${formatFullTime(to.toISOString())}: ${summary}`}
        onClick={pick}
      >
        <rect className="timeline-bg" x={0} y={0} width={WIDTH} height={HEIGHT} />
        {bars.map((bar, index) => (
          <rect
            key={index}
            className="timeline-span"
            data-start={new Date(bar.start).toISOString()}
            data-end={new Date(bar.end).toISOString()}
            x={x(bar.start)}
            y={10}
            width={Math.max(x(bar.end) - x(bar.start), 0.5)}
            height={HEIGHT - 20}
          >
            <title>{`Recorded ${formatClock(new Date(bar.start))} to ${formatClock(new Date(bar.end))}`}</title>
          </rect>
        ))}
        {ticks.map(({ event, at }) => (
          <line key={event.id} className="timeline-event" data-event-id={event.id} x1={x(at)} x2={x(at)} y1={2} y2={HEIGHT - 2} vectorEffect="non-scaling-stroke">
            <title>{`${event.type} at ${formatFullTime(event.at)}`}</title>
          </line>
        ))}
        {markerAt !== null && (
          <line className="timeline-marker" x1={x(markerAt)} x2={x(markerAt)} y1={0} y2={HEIGHT} vectorEffect="non-scaling-stroke">
            <title>{`Play from ${formatFullTime(new Date(markerAt).toISOString())}`}</title>
          </line>
        )}
      </svg>
      <div className="timeline-axis" aria-hidden="true">
        {axis.map((moment) => (
          <span key={moment.getTime()}>{formatClock(moment)}</span>
        ))}
      </div>
      <figcaption className="muted">
        {summary} A click on the bar sets “Play from” to that moment.
      </figcaption>
    </figure>
  );
}
