// <input type="datetime-local"> speaks the viewer's own time, to the minute, without a zone:
// "2025-06-01T14:05". The API speaks ISO 8601 in UTC; these convert between the two.

function pad(number: number): string {
  return String(number).padStart(2, "0");
}

/** `date` as a datetime-local value, to the minute (seconds would fail the input's step). */
export function toLocalInput(date: Date): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** A datetime-local value as a moment (read in the viewer's time zone), or null. */
export function fromLocalInput(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return null;
  const date = new Date(value); // no zone: local time, as the input meant
  return Number.isNaN(date.getTime()) ? null : date;
}

const shortClock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** Hours and minutes only: the timeline's axis and its spans. */
export function formatClock(date: Date): string {
  return shortClock.format(date);
}
