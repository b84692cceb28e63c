// A camera's recordings: what was recorded when, its events in a stretch of time, a signed
// VOD playlist of a range or of an event's clip, and a range exported as one MP4 (streamed
// into memory with its progress, then offered as a blob: URL). Only the camera page uses it.
import { call, query, request, segment, type Page, type VideoEvent } from "./api";

export interface Span {
  start: string;
  end: string;
}

export interface Recordings {
  camera_id: string;
  spans: Span[];
  gaps: Span[];
  /** more spans follow: ask again with this as `from` */
  next: string | null;
}

/** A recording's signed VOD playlist: `offset_s` into it is the moment asked for. */
export interface RecordedPlayback {
  url: string;
  start: string | null;
  end: string | null;
  offset_s: number | null;
}

const SPANS_PER_PAGE = 1000;
/** A day cut into more pieces than this is shown as far as these go. */
const MOST_SPAN_PAGES = 5;
export const EVENTS_IN_WINDOW = 200;
export const LONGEST_EXPORT_S = 3600;

/** Every recorded span between `from` and `to` (a page of them at a time), and the gaps. */
export async function listRecordings(cameraId: string, from: Date, to: Date, signal?: AbortSignal): Promise<Recordings> {
  const path = `/api/cameras/${segment(cameraId)}/recordings`;
  let asked = from.toISOString();
  const found: Recordings = { camera_id: cameraId, spans: [], gaps: [], next: null };
  for (let page = 0; page < MOST_SPAN_PAGES; page += 1) {
    const params = query({ from: asked, to: to.toISOString(), limit: SPANS_PER_PAGE });
    const answer = await request<Recordings>(`${path}${params}`, { signal });
    found.spans.push(...answer.spans);
    found.gaps.push(...answer.gaps);
    found.next = answer.next;
    if (!answer.next) break;
    asked = answer.next;
  }
  return found;
}

/** The camera's events between `from` and `to`, newest first. */
export function listEventsBetween(cameraId: string, from: Date, to: Date, signal?: AbortSignal): Promise<Page<VideoEvent>> {
  // The API reads the window as `from`/`to` (as for recordings); `since`/`until` are the
  // same window under the names the console's brief gives them, which the API ignores.
  const since = from.toISOString();
  const until = to.toISOString();
  const params = query({ camera_id: cameraId, from: since, to: until, since, until, limit: EVENTS_IN_WINDOW });
  return request<Page<VideoEvent>>(`/api/events${params}`, { signal });
}

/** The recording from `start` to `end`; 404 when nothing was recorded then. */
export function getRecordedPlayback(cameraId: string, start: Date, end: Date): Promise<RecordedPlayback> {
  const params = query({ start: start.toISOString(), end: end.toISOString() });
  return request<RecordedPlayback>(`/api/cameras/${segment(cameraId)}/playback${params}`);
}

/** The recording around an event; 404 when nothing was recorded then. */
export function getEventClip(eventId: number): Promise<RecordedPlayback> {
  return request<RecordedPlayback>(`/api/events/${eventId}/clip`);
}

export interface ExportProgress {
  /** false until the response starts: the server makes the whole MP4 first */
  started: boolean;
  received: number;
  /** from Content-Length; null when the response gave none */
  total: number | null;
}

export interface ExportedFile {
  blob: Blob;
  filename: string;
}

/** A name for the file from Content-Disposition, kept to safe characters; else `fallback`. */
function filenameOf(response: Response, fallback: string): string {
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const named = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition)?.[1];
  let name = "";
  try {
    name = named ? decodeURIComponent(named) : "";
  } catch {
    name = "";
  }
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.mp4$/.test(name) ? name : fallback;
}

/** The MP4 of `start`..`end` (at most an hour), read into memory as it streams; 503 when the
 * node makes too many at once, 422 when the range is refused (naming `start` or `end`). */
export async function downloadExport(
  cameraId: string,
  start: Date,
  end: Date,
  onProgress: (progress: ExportProgress) => void,
  signal: AbortSignal,
): Promise<ExportedFile> {
  const params = query({ start: start.toISOString(), end: end.toISOString() });
  onProgress({ started: false, received: 0, total: null });
  const response = await call(`/api/cameras/${segment(cameraId)}/export${params}`, {
    headers: { Accept: "video/mp4, application/json" },
    signal,
  });
  const length = Number(response.headers.get("Content-Length"));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  const chunks: BlobPart[] = [];
  let received = 0;
  onProgress({ started: true, received, total });
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.byteLength;
      onProgress({ started: true, received, total });
    }
  } else {
    const whole = await response.blob();
    chunks.push(whole);
    received = whole.size;
    onProgress({ started: true, received, total });
  }
  const stamp = start.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return {
    blob: new Blob(chunks, { type: "video/mp4" }),
    filename: filenameOf(response, `${cameraId}_${stamp}.mp4`),
  };
}
