// Times as people read them, in the viewer's own time zone.

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
const clockFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

function parsed(iso: string): Date | null {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Date and time; only the time for today. */
export function formatTime(iso: string): string {
  const date = parsed(iso);
  if (!date) return iso;
  const today = new Date().toDateString() === date.toDateString();
  return today ? clockFormat.format(date) : timeFormat.format(date);
}

export function formatFullTime(iso: string): string {
  const date = parsed(iso);
  return date ? timeFormat.format(date) : iso;
}

/** An event's detail object as one line of text (never markup). */
export function formatDetail(detail: Record<string, unknown>): string {
  const entries = Object.entries(detail);
  if (!entries.length) return "";
  return entries
    .map(([name, value]) => `${name}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(", ");
}

export const STATE_LABELS = {
  still: "Connecting",
  webrtc: "Live (WebRTC)",
  hls: "Live (HLS)",
  offline: "Offline",
} as const;

/** Text from elsewhere (an edge's answer, a browser's error) as one short line to show: its
 * first line, control and format characters (bidi overrides among them) removed, at most
 * `limit` characters, never half of one. */
export function shownLine(raw: string, limit = 200): string {
  const line = raw.split(/\r?\n/, 1)[0] ?? "";
  return [...line.replace(/[\p{Cc}\p{Cf}]/gu, "").trim()].slice(0, limit).join("");
}
