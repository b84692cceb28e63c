// One camera: its live main stream (WebRTC, else HLS), or a recording of it (from a chosen
// moment, or an event's clip) until "Back to live"; a day of its recordings and events on a
// timeline; and a range exported as an MP4.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { isAbort } from "../abort";
import { getCamera, isApiError, type VideoEvent } from "../api";
import { ExportForm } from "../components/ExportForm";
import { Screen } from "../components/Screen";
import { Timeline } from "../components/Timeline";
import { formatDetail, formatFullTime, STATE_LABELS } from "../format";
import { Field, FormAlert, problemsOf } from "../forms";
import { startHls, type HlsSession } from "../hls";
import { useLiveVideo, usePageTitle, usePageVisible } from "../hooks";
import type { LiveFacts, LiveState } from "../live";
import { formatClock, fromLocalInput, toLocalInput } from "../localTime";
import {
  EVENTS_IN_WINDOW,
  getEventClip,
  getRecordedPlayback,
  listEventsBetween,
  listRecordings,
  type RecordedPlayback,
} from "../recordings";
import { Link, navigate, useLocation, withQuery } from "../router";

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** "Play" plays this long from the chosen moment. */
const PLAYED_MS = HOUR_MS;
const PLAY_FIELDS = ["start"] as const;
/** How often the recording's clock (the frame's wall-clock time) is read. */
const CLOCK_PERIOD_MS = 1000;

/** A recording being watched: its playlist and what it is, in words. `serial`: each one gets
 * a <video> of its own, so that nothing left of the one before (a stop still on its way)
 * can touch it. */
interface Watching {
  playback: RecordedPlayback;
  label: string;
  serial: number;
}

let played = 0;

function toWatch(playback: RecordedPlayback, label: string): Watching {
  played += 1;
  return { playback, label, serial: played };
}

/** The moment `at` rounded down to the minute (what a datetime-local input holds). */
function toMinute(at: number): Date {
  return new Date(Math.floor(at / 60000) * 60000);
}

function RecordingPlayer({ watching, cameraName, onBack }: { watching: Watching; cameraName: string; onBack: () => void }) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const [failed, setFailed] = useState(false);
  // The wall-clock time of the frame shown, and of the first one (EXT-X-PROGRAM-DATE-TIME).
  const [clock, setClock] = useState<{ first: number; now: number } | null>(null);
  const { playback } = watching;
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    video.scrollIntoView({ block: "nearest" });
    const controller = new AbortController();
    let session: HlsSession | null = null;
    let timer: number | undefined;
    setFailed(false);
    setClock(null);
    const readClock = () => {
      const now = session?.facts().wallClock ?? null;
      if (now !== null && !video.paused) setClock((last) => ({ first: last?.first ?? now, now }));
    };
    startHls(playback.url, video, controller.signal, Math.max(0, playback.offset_s ?? 0)).then(
      (started) => {
        if (controller.signal.aborted) {
          started.stop();
          return;
        }
        session = started;
        timer = window.setInterval(readClock, CLOCK_PERIOD_MS);
        video.addEventListener("playing", readClock);
        // Played after a click, so sound is usually allowed; where it is not, muted.
        video.play().catch(() => {
          video.muted = true;
          video.play().catch(() => {});
        });
        void started.ended.then(() => {
          if (!controller.signal.aborted) setFailed(true);
        });
      },
      (error: unknown) => {
        if (!isAbort(error) && !controller.signal.aborted) setFailed(true);
      },
    );
    return () => {
      controller.abort();
      window.clearInterval(timer);
      video.removeEventListener("playing", readClock);
      session?.stop();
    };
  }, [playback]);
  return (
    <div className="recording" data-testid="recording">
      <div className="screen">
        <video ref={videoRef} className="live" aria-label={`${cameraName}: ${watching.label}`} controls playsInline />
      </div>
      <p className="recording-bar">
        <span className="badge badge-hls">Recording</span> {watching.label}
        {clock && (
          <span data-testid="recording-clock" data-wall-clock={clock.now} data-first-wall-clock={clock.first}>
            {" "}· showing <time dateTime={new Date(clock.now).toISOString()}>{formatFullTime(new Date(clock.now).toISOString())}</time>
          </span>
        )}{" "}
        <button type="button" onClick={onBack}>
          Back to live
        </button>
      </p>
      {failed && (
        <p className="error" role="alert">
          The recording stopped playing: its address may have expired. Play it again, or go back to live.
        </p>
      )}
    </div>
  );
}

function describeLive(facts: LiveFacts): string {
  const first = `first picture after ${facts.firstPictureMs} ms`;
  if (facts.transport === "webrtc") return `WebRTC from the edge · ${first} · sound: ${facts.sound ?? "none"}`;
  const notWebRtc = facts.webrtcRefused ? ` · not WebRTC: ${facts.webrtcRefused}` : "";
  return `HLS · rung ${facts.rung ?? "?"} · CDN ${facts.cdn ?? "?"} · ${first}${notWebRtc}`;
}

function LiveFactsLine({ facts }: { facts: LiveFacts }) {
  return (
    <p
      className="live-facts hint"
      data-testid="live-facts"
      data-transport={facts.transport}
      data-first-picture-ms={facts.firstPictureMs}
      data-sound={facts.sound ?? ""}
    >
      {describeLive(facts)}
    </p>
  );
}

function EventItem({ event, onClip, pending, error }: { event: VideoEvent; onClip: () => void; pending: boolean; error: string | null }) {
  const detail = formatDetail(event.detail);
  const when = formatFullTime(event.at);
  return (
    <li data-testid="camera-event" data-event-id={event.id}>
      <time dateTime={event.at}>{when}</time> <strong>{event.type}</strong>
      {detail && <span className="detail"> {detail}</span>}{" "}
      <button type="button" aria-label={`Play clip: ${event.type} at ${when}`} disabled={pending} onClick={onClip}>
        Play clip
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

export default function CameraPage({ cameraId }: { cameraId: string }) {
  const camera = useQuery({
    queryKey: ["camera", cameraId],
    queryFn: ({ signal }) => getCamera(cameraId, signal),
    staleTime: 2000,
  });
  // The timeline's day: the 24 hours up to `windowEnd` (now, until moved).
  const [windowEnd, setWindowEnd] = useState(() => Date.now());
  const from = new Date(windowEnd - DAY_MS);
  const to = new Date(windowEnd);
  const recordings = useQuery({
    queryKey: ["recordings", cameraId, windowEnd],
    queryFn: ({ signal }) => listRecordings(cameraId, from, to, signal),
    staleTime: 30000,
  });
  const events = useQuery({
    queryKey: ["events", "camera", cameraId, windowEnd],
    queryFn: ({ signal }) => listEventsBetween(cameraId, from, to, signal),
    staleTime: 10000,
  });

  const [watching, setWatching] = useState<Watching | null>(null);
  const [playFrom, setPlayFrom] = useState(() => toLocalInput(toMinute(Date.now() - HOUR_MS)));
  const [playLocal, setPlayLocal] = useState<string | undefined>();
  const play = useMutation({
    mutationFn: (start: Date) => getRecordedPlayback(cameraId, start, new Date(start.getTime() + PLAYED_MS)),
    onSuccess: (playback, start) => setWatching(toWatch(playback, `from ${formatFullTime(start.toISOString())}`)),
  });
  const clip = useMutation({
    mutationFn: (event: VideoEvent) => getEventClip(event.id),
    onSuccess: (playback, event) =>
      setWatching(toWatch(playback, `the clip of ${event.type} at ${formatFullTime(event.at)}`)),
  });

  // `?at=`: the recording from that moment (a link to it, kept across a reload).
  const { search } = useLocation();
  const atParam = search.get("at");
  const atMs = atParam ? Date.parse(atParam) : Number.NaN;
  const transport = search.get("transport");
  const here = `/cameras/${encodeURIComponent(cameraId)}`;
  const playMutate = play.mutate;
  useEffect(() => {
    if (Number.isNaN(atMs)) return;
    setPlayFrom(toLocalInput(toMinute(atMs)));
    playMutate(new Date(atMs));
  }, [atMs, playMutate]);
  const backToLive = () => {
    setWatching(null);
    if (atParam) navigate(withQuery(here, { transport }), { replace: true });
  };

  const videoRef = useRef<HTMLVideoElement>(null);
  const pageVisible = usePageVisible();
  const enabled = camera.data?.enabled ?? false;
  const hlsOnly = transport === "hls";
  // A link to a recording (`?at=`) opens no live view while the recording is being found.
  const recordingAsked = !Number.isNaN(atMs) && !play.isError;
  const showLive = pageVisible && enabled && watching === null && !recordingAsked;
  const live = useLiveVideo(cameraId, "main", showLive, videoRef, hlsOnly);
  const state: LiveState = camera.data && !enabled ? "offline" : live.state;
  const name = camera.data?.name ?? "Camera";
  usePageTitle(name);
  const playFormAlert = useId();

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

  const submitPlay = (event: FormEvent) => {
    event.preventDefault();
    const start = fromLocalInput(playFrom);
    if (!start) {
      setPlayLocal("Choose the moment to play from.");
      return;
    }
    setPlayLocal(undefined);
    // The same moment asked again plays again; another one goes through the address.
    if (start.getTime() === atMs) play.mutate(start);
    else navigate(withQuery(here, { at: start.toISOString(), transport }), { replace: true });
  };
  const playProblems = problemsOf(play.error, PLAY_FIELDS, { aliases: { end: "start" }, local: { start: playLocal } });
  const marker = fromLocalInput(playFrom);
  const data = camera.data;
  const eventList = events.data?.data ?? [];
  const atNow = windowEnd >= Date.now() - 60000;
  return (
    <section className="camera-page">
      <div className="camera-title">
        <h1>{name}</h1>
        {watching ? (
          <span className="badge badge-hls" data-testid="camera-state" data-state="recording">
            Recording
          </span>
        ) : (
          <span className={`badge badge-${state}`} data-testid="camera-state" data-state={state}>
            {data && !data.enabled ? "Disabled" : STATE_LABELS[state]}
          </span>
        )}
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
        {watching ? (
          <RecordingPlayer key={watching.serial} watching={watching} cameraName={name} onBack={backToLive} />
        ) : (
          <Screen cameraId={cameraId} cameraName={name} state={state} videoRef={videoRef} seen={pageVisible} controls />
        )}
      </div>
      {!watching && live.facts && <LiveFactsLine facts={live.facts} />}
      {!watching && (
        <p className="hint">
          {hlsOnly ? (
            <Link to={here}>Watch over WebRTC where the edge offers it</Link>
          ) : (
            <Link to={withQuery(here, { transport: "hls" })}>Watch over HLS only</Link>
          )}
        </p>
      )}

      <section className="recordings" aria-labelledby="recordings-title">
        <h2 id="recordings-title">Recordings</h2>
        <div className="window-bar" role="group" aria-label="The timeline's day">
          <span>
            {formatFullTime(from.toISOString())} to {formatFullTime(to.toISOString())}
          </span>
          <button type="button" onClick={() => setWindowEnd((end) => end - DAY_MS)}>
            Earlier day
          </button>
          <button type="button" disabled={atNow} onClick={() => setWindowEnd((end) => Math.min(Date.now(), end + DAY_MS))}>
            Later day
          </button>
          <button type="button" onClick={() => setWindowEnd(Date.now())}>
            Up to now
          </button>
        </div>
        {recordings.isError && (
          <p className="error" role="alert">
            Recordings: {recordings.error.message}
          </p>
        )}
        {recordings.isPending && <p role="status">Loading recordings…</p>}
        <Timeline
          from={from}
          to={to}
          spans={recordings.data?.spans ?? []}
          events={eventList}
          marker={marker}
          onPick={(at) => setPlayFrom(toLocalInput(toMinute(at.getTime())))}
        />
        {recordings.data && (
          <details className="spans">
            <summary>Recorded spans ({recordings.data.spans.length})</summary>
            {recordings.data.spans.length ? (
              <ul>
                {recordings.data.spans.map((span) => (
                  <li key={span.start}>
                    <time dateTime={span.start}>{formatFullTime(span.start)}</time> to{" "}
                    <time dateTime={span.end}>{formatClock(new Date(span.end))}</time>
                  </li>
                ))}
              </ul>
            ) : (
              <p>Nothing recorded in this day.</p>
            )}
            {recordings.data.next && <p className="hint">More spans than shown: the day is cut into many pieces.</p>}
          </details>
        )}
        <form className="admin-form inline-form play-form" onSubmit={submitPlay} aria-label="Play a recording" aria-describedby={playProblems.top.length ? playFormAlert : undefined}>
          <FormAlert id={playFormAlert} messages={playProblems.top} />
          <Field label="Play from" error={playProblems.fields.start} hint="An hour from then.">
            {(control) => (
              <input {...control} type="datetime-local" required value={playFrom} onChange={(event) => setPlayFrom(event.target.value)} />
            )}
          </Field>
          <button type="submit" disabled={play.isPending}>
            {play.isPending ? "Finding it…" : "Play"}
          </button>
        </form>
      </section>

      <section aria-labelledby="events-title">
        <h2 id="events-title">Events in this day</h2>
        {events.isPending && <p role="status">Loading events…</p>}
        {events.isError && (
          <p className="error" role="alert">
            {events.error.message}
          </p>
        )}
        {events.data && !eventList.length && <p>No events in this day.</p>}
        {eventList.length > 0 && (
          <ul className="event-list plain">
            {eventList.map((event) => (
              <EventItem
                key={event.id}
                event={event}
                pending={clip.isPending && clip.variables?.id === event.id}
                error={clip.isError && clip.variables?.id === event.id ? clip.error.message : null}
                onClip={() => clip.mutate(event)}
              />
            ))}
          </ul>
        )}
        {events.data?.next && (
          <p className="hint">The newest {EVENTS_IN_WINDOW} are shown.</p>
        )}
        <p>
          <Link to={withQuery("/events", { camera: cameraId })}>All events of this camera</Link>
        </p>
      </section>

      <ExportForm cameraId={cameraId} />
    </section>
  );
}
