// "Export MP4": a range of at most an hour, made by the API (nothing arrives until the whole
// MP4 is made: "Preparing…"), then streamed with its progress from Content-Length, then
// offered as a file to save (a blob: URL, released when another export starts or the page
// goes away). Nothing is stored.
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { isAbort } from "../abort";
import { Field, FormAlert, problemsOf } from "../forms";
import { fromLocalInput, toLocalInput } from "../localTime";
import { downloadExport, LONGEST_EXPORT_S } from "../recordings";

const FIELDS = ["start", "end"] as const;
/** Progress is redrawn at most this often (a chunk arrives every few milliseconds). */
const PROGRESS_PERIOD_MS = 100;

type Phase = "idle" | "preparing" | "downloading" | "done" | "failed";

interface ExportState {
  phase: Phase;
  received: number;
  total: number | null;
  url?: string;
  filename?: string;
  error?: unknown;
}

const IDLE: ExportState = { phase: "idle", received: 0, total: null };

function sizeText(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function rangeProblems(from: Date | null, to: Date | null): Record<string, string | undefined> {
  if (!from) return { start: "Choose when the export starts." };
  if (!to) return { end: "Choose when the export ends." };
  const seconds = (to.getTime() - from.getTime()) / 1000;
  if (seconds <= 0) return { end: "“To” must be after “From”." };
  if (seconds > LONGEST_EXPORT_S) return { end: "At most an hour: choose a “To” within an hour of “From”." };
  return {};
}

export function ExportForm({ cameraId }: { cameraId: string }) {
  const headingId = useId();
  const alertId = useId();
  const statusId = useId();
  const [start, setStart] = useState(() => toLocalInput(new Date(Date.now() - LONGEST_EXPORT_S * 1000)));
  const [end, setEnd] = useState(() => toLocalInput(new Date()));
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const [state, setState] = useState<ExportState>(IDLE);
  const controllerRef = useRef<AbortController | null>(null);
  const urlRef = useRef<string | null>(null);

  const release = () => {
    if (urlRef.current) URL.revokeObjectURL(urlRef.current);
    urlRef.current = null;
  };
  // Leaving the page stops the download and lets the file's memory go.
  useEffect(
    () => () => {
      controllerRef.current?.abort();
      release();
    },
    [],
  );

  const run = async (from: Date, to: Date) => {
    controllerRef.current?.abort();
    release();
    const controller = new AbortController();
    controllerRef.current = controller;
    setState({ phase: "preparing", received: 0, total: null });
    let drawnAt = -Infinity;
    try {
      const file = await downloadExport(
        cameraId,
        from,
        to,
        (progress) => {
          if (!progress.started || controller.signal.aborted) return;
          const now = performance.now();
          if (now - drawnAt < PROGRESS_PERIOD_MS) return;
          drawnAt = now;
          setState({ phase: "downloading", received: progress.received, total: progress.total });
        },
        controller.signal,
      );
      if (controller.signal.aborted) return;
      const url = URL.createObjectURL(file.blob);
      urlRef.current = url;
      setState({ phase: "done", received: file.blob.size, total: file.blob.size, url, filename: file.filename });
    } catch (error) {
      if (controller.signal.aborted || isAbort(error)) return;
      setState({ phase: "failed", received: 0, total: null, error });
    } finally {
      if (controllerRef.current === controller) controllerRef.current = null;
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const from = fromLocalInput(start);
    const to = fromLocalInput(end);
    const found = rangeProblems(from, to);
    setLocal(found);
    if (Object.keys(found).length || !from || !to) return;
    void run(from, to);
  };

  const cancel = () => {
    controllerRef.current?.abort();
    setState(IDLE);
  };

  const busy = state.phase === "preparing" || state.phase === "downloading";
  const problems = problemsOf(state.phase === "failed" ? state.error : null, FIELDS, { local });
  const determinate = (state.phase === "downloading" || state.phase === "done") && state.total;
  return (
    <section className="export" aria-labelledby={headingId}>
      <h2 id={headingId}>Export MP4</h2>
      <form className="admin-form inline-form" onSubmit={submit} aria-labelledby={headingId} aria-describedby={problems.top.length ? alertId : undefined}>
        <FormAlert id={alertId} messages={problems.top} />
        <Field label="From" error={problems.fields.start}>
          {(control) => <input {...control} type="datetime-local" required value={start} onChange={(event) => setStart(event.target.value)} />}
        </Field>
        <Field label="To" error={problems.fields.end} hint="At most an hour after “From”.">
          {(control) => <input {...control} type="datetime-local" required value={end} onChange={(event) => setEnd(event.target.value)} />}
        </Field>
        <button type="submit" disabled={busy}>
          Export MP4
        </button>
      </form>
      {state.phase !== "idle" && state.phase !== "failed" && (
        <div className="export-status">
          <span id={statusId} role="status">
            {state.phase === "preparing" && "Preparing…"}
            {state.phase === "downloading" && "Downloading…"}
            {state.phase === "done" && "Ready."}
          </span>
          <progress
            data-testid="export-progress"
            data-phase={state.phase}
            aria-labelledby={statusId}
            {...(determinate ? { value: state.received, max: state.total ?? undefined } : {})}
          />
          {state.phase !== "preparing" && (
            <span className="muted">
              {sizeText(state.received)}
              {state.total && state.phase !== "done" ? ` of ${sizeText(state.total)}` : ""}
            </span>
          )}
          {busy && (
            <button type="button" onClick={cancel}>
              Cancel
            </button>
          )}
          {state.phase === "done" && state.url && (
            <a className="button-link" href={state.url} download={state.filename}>
              Save {state.filename}
            </a>
          )}
        </div>
      )}
    </section>
  );
}
