// A site's cameras: added as push (the camera publishes to the edge: its publish URL and
// password are shown once) or pull (the edge dials the camera's rtsp:// URL, which the API
// checks); renamed, re-pointed, enabled or disabled, deleted.
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import type { Camera, Site } from "../../api";
import {
  createCamera,
  deleteCamera,
  disableCamera,
  listSiteCameras,
  updateCamera,
  type CameraCreate,
  type CameraCreated,
  type CameraMode,
  type CameraUpdate,
} from "../../adminApi";
import { ConfirmButton } from "../../components/ConfirmButton";
import { CreatedSecret, type SecretLine } from "../../components/CreatedSecret";
import { Field, FormAlert, problemsOf } from "../../forms";
import { Link } from "../../router";
import { CAMERAS_KEY, useSites } from "./shared";

const CREATE_FIELDS = ["name", "mode", "source_url", "sub_source_url"] as const;
const EDIT_FIELDS = ["name", "source_url", "sub_source_url"] as const;
const SOURCE_HINT = "The camera's rtsp:// or rtsps:// URL, with its user and password.";
const SUB_SOURCE_HINT = "Optional: the camera's small second stream, for the wall.";

function invalidateCameras(queryClient: ReturnType<typeof useQueryClient>, cameraId?: string): void {
  void queryClient.invalidateQueries({ queryKey: CAMERAS_KEY });
  if (cameraId) void queryClient.invalidateQueries({ queryKey: ["camera", cameraId] });
}

/** What a push camera is told once: where to publish, as whom. */
function secretLines(camera: CameraCreated): SecretLine[] {
  const lines: SecretLine[] = [];
  if (camera.publish_url) lines.push({ label: "Publish URL", value: camera.publish_url });
  if (camera.sub_publish_url) lines.push({ label: "Sub-stream publish URL", value: camera.sub_publish_url });
  if (camera.rtsp_username) lines.push({ label: "RTSP username", value: camera.rtsp_username });
  if (camera.rtsp_password) lines.push({ label: "RTSP password", value: camera.rtsp_password });
  return lines;
}

function CreateCameraForm({ siteId, onCreated }: { siteId: string; onCreated: (camera: CameraCreated) => void }) {
  const queryClient = useQueryClient();
  const alertId = useId();
  const [name, setName] = useState("");
  const [mode, setMode] = useState<CameraMode>("push");
  const [sourceUrl, setSourceUrl] = useState("");
  const [subSourceUrl, setSubSourceUrl] = useState("");
  const create = useMutation({
    mutationFn: createCamera,
    // The answer holds the publish password: kept by the section until dismissed, not by
    // the mutation cache.
    gcTime: 0,
    onSuccess: (camera) => {
      setName("");
      setSourceUrl("");
      setSubSourceUrl("");
      invalidateCameras(queryClient);
      onCreated(camera);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body: CameraCreate = { site_id: siteId, name: name.trim(), mode };
    if (mode === "pull") {
      body.source_url = sourceUrl.trim();
      if (subSourceUrl.trim()) body.sub_source_url = subSourceUrl.trim();
    }
    create.mutate(body);
  };
  const problems = problemsOf(create.error, CREATE_FIELDS);
  return (
    <form className="admin-form" onSubmit={submit} aria-label="Add a camera" aria-describedby={problems.top.length ? alertId : undefined}>
        <FormAlert id={alertId} messages={problems.top} />
        <Field label="Name" error={problems.fields.name}>
          {(control) => (
            <input {...control} required maxLength={200} autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} />
          )}
        </Field>
        <fieldset className="field" aria-describedby={problems.fields.mode ? `${alertId}-mode` : undefined}>
          <legend>Mode</legend>
          <label className="choice">
            <input type="radio" name={`${alertId}-mode`} value="push" checked={mode === "push"} onChange={() => setMode("push")} />{" "}
            Push (the camera publishes to the edge)
          </label>
          <label className="choice">
            <input type="radio" name={`${alertId}-mode`} value="pull" checked={mode === "pull"} onChange={() => setMode("pull")} />{" "}
            Pull (the edge pulls from the camera)
          </label>
          {problems.fields.mode && (
            <p id={`${alertId}-mode`} className="field-error error" role="alert">
              {problems.fields.mode}
            </p>
          )}
        </fieldset>
        {mode === "pull" && (
          <>
            <Field label="Source URL" error={problems.fields.source_url} hint={SOURCE_HINT}>
              {(control) => (
                <input
                  {...control}
                  required
                  type="text"
                  inputMode="url"
                  spellCheck={false}
                  autoComplete="off"
                  placeholder="rtsp://user:password@camera.example/stream1"
                  value={sourceUrl}
                  onChange={(event) => setSourceUrl(event.target.value)}
                />
              )}
            </Field>
            <Field label="Sub-stream source URL" error={problems.fields.sub_source_url} hint={SUB_SOURCE_HINT}>
              {(control) => (
                <input
                  {...control}
                  type="text"
                  inputMode="url"
                  spellCheck={false}
                  autoComplete="off"
                  value={subSourceUrl}
                  onChange={(event) => setSubSourceUrl(event.target.value)}
                />
              )}
            </Field>
          </>
        )}
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? "Adding…" : "Add camera"}
        </button>
      </form>
  );
}

/** What was said of the camera just added: a push camera's publish secrets, once. */
function Created({ camera, onDone }: { camera: CameraCreated; onDone: () => void }) {
  const lines = camera.rtsp_password ? secretLines(camera) : [];
  if (lines.length) return <CreatedSecret title={`Camera ${camera.name}: where it publishes`} lines={lines} onDone={onDone} />;
  return (
    <p role="status">
      Camera {camera.name} added.{" "}
      <button type="button" className="link-button" onClick={onDone}>
        Dismiss
      </button>
    </p>
  );
}

function EditCameraForm({ camera, onDone }: { camera: Camera; onDone: () => void }) {
  const queryClient = useQueryClient();
  const alertId = useId();
  const [name, setName] = useState(camera.name);
  const [sourceUrl, setSourceUrl] = useState("");
  const [subSourceUrl, setSubSourceUrl] = useState("");
  const [dropSub, setDropSub] = useState(false);
  const save = useMutation({
    mutationFn: (changes: CameraUpdate) => updateCamera(camera.id, changes),
    onSuccess: () => {
      invalidateCameras(queryClient, camera.id);
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const changes: CameraUpdate = {};
    if (name.trim() !== camera.name) changes.name = name.trim();
    if (camera.mode === "pull") {
      // The API shows sources without their credentials: blank keeps the one it has.
      if (sourceUrl.trim()) changes.source_url = sourceUrl.trim();
      if (dropSub) changes.sub_source_url = null;
      else if (subSourceUrl.trim()) changes.sub_source_url = subSourceUrl.trim();
    }
    if (!Object.keys(changes).length) {
      onDone();
      return;
    }
    save.mutate(changes);
  };
  const problems = problemsOf(save.error, EDIT_FIELDS);
  return (
    <form className="admin-form inline-form" onSubmit={submit} aria-label={`Edit camera ${camera.name}`} aria-describedby={problems.top.length ? alertId : undefined}>
      <FormAlert id={alertId} messages={problems.top} />
      <Field label="Name" error={problems.fields.name}>
        {(control) => (
          <input {...control} required maxLength={200} autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} />
        )}
      </Field>
      {camera.mode === "pull" && (
        <>
          <Field label="New source URL" error={problems.fields.source_url} hint="Blank: keep the current one.">
            {(control) => (
              <input {...control} type="text" inputMode="url" spellCheck={false} autoComplete="off" value={sourceUrl} onChange={(event) => setSourceUrl(event.target.value)} />
            )}
          </Field>
          <Field label="New sub-stream source URL" error={problems.fields.sub_source_url} hint="Blank: keep the current one.">
            {(control) => (
              <input
                {...control}
                type="text"
                inputMode="url"
                spellCheck={false}
                autoComplete="off"
                disabled={dropSub}
                value={subSourceUrl}
                onChange={(event) => setSubSourceUrl(event.target.value)}
              />
            )}
          </Field>
          {camera.sub_source_url && (
            <label className="choice">
              <input type="checkbox" checked={dropSub} onChange={(event) => setDropSub(event.target.checked)} /> Remove the
              sub-stream
            </label>
          )}
        </>
      )}
      <button type="submit" disabled={save.isPending}>
        Save
      </button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

function CameraRow({ camera }: { camera: Camera }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const toggle = useMutation({
    mutationFn: () => (camera.enabled ? disableCamera(camera.id) : updateCamera(camera.id, { enabled: true })),
    onSuccess: () => invalidateCameras(queryClient, camera.id),
  });
  const remove = useMutation({
    mutationFn: () => deleteCamera(camera.id),
    onSuccess: () => invalidateCameras(queryClient, camera.id),
  });
  if (editing) {
    return (
      <tr data-camera-id={camera.id}>
        <td colSpan={5}>
          <EditCameraForm camera={camera} onDone={() => setEditing(false)} />
        </td>
      </tr>
    );
  }
  const failed = toggle.error ?? remove.error;
  const source = camera.mode === "pull" ? [camera.source_url, camera.sub_source_url].filter(Boolean).join(" · ") : camera.publish_url;
  return (
    <tr data-camera-id={camera.id}>
      <th scope="row">
        <Link to={`/cameras/${encodeURIComponent(camera.id)}`}>{camera.name}</Link>
      </th>
      <td>{camera.mode}</td>
      <td>{camera.enabled ? "Enabled" : <span className="badge badge-offline">Disabled</span>}</td>
      <td className="wrap">
        <code>{source ?? "—"}</code>
      </td>
      <td className="actions">
        <button type="button" aria-label={`Edit camera ${camera.name}`} onClick={() => setEditing(true)}>
          Edit
        </button>{" "}
        <button
          type="button"
          aria-label={`${camera.enabled ? "Disable" : "Enable"} camera ${camera.name}`}
          disabled={toggle.isPending}
          onClick={() => toggle.mutate()}
        >
          {camera.enabled ? "Disable" : "Enable"}
        </button>{" "}
        <ConfirmButton
          label="Delete"
          what={`camera ${camera.name}`}
          question={`Delete camera ${camera.name} and forget it?`}
          pending={remove.isPending}
          onConfirm={() => remove.mutate()}
        />
        {failed && (
          <p className="error" role="alert">
            {failed.message}
          </p>
        )}
      </td>
    </tr>
  );
}

function SiteCameras({ site, onCreated }: { site: Site; onCreated: (camera: CameraCreated) => void }) {
  const cameras = useInfiniteQuery({
    queryKey: [...CAMERAS_KEY, "admin", site.id],
    queryFn: ({ pageParam, signal }) => listSiteCameras(site.id, pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next ?? undefined,
    staleTime: 10000,
  });
  const list = cameras.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <>
      <h3>Add a camera to {site.name}</h3>
      <CreateCameraForm siteId={site.id} onCreated={onCreated} />
      <h3>Cameras of {site.name}</h3>
      {cameras.isPending && <p role="status">Loading cameras…</p>}
      {cameras.isError && (
        <p className="error" role="alert">
          Cameras: {cameras.error.message}
        </p>
      )}
      {cameras.isSuccess && !list.length && <p>No cameras at this site yet.</p>}
      {list.length > 0 && (
        <div className="table-scroll">
          <table className="admin-table">
            <caption className="visually-hidden">Cameras of {site.name}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Mode</th>
                <th scope="col">State</th>
                <th scope="col">Publishes to / pulled from</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((camera) => (
                <CameraRow key={camera.id} camera={camera} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cameras.hasNextPage && (
        <button type="button" onClick={() => void cameras.fetchNextPage()} disabled={cameras.isFetchingNextPage}>
          {cameras.isFetchingNextPage ? "Loading more cameras…" : "More cameras"}
        </button>
      )}
    </>
  );
}

export function CamerasSection() {
  const sites = useSites();
  const selectId = useId();
  const list = sites.data?.data ?? [];
  const [chosen, setChosen] = useState<string | null>(null);
  // Here, not in the site's part: choosing another site must not lose a password unseen.
  const [created, setCreated] = useState<CameraCreated | null>(null);
  const site = list.find((candidate) => candidate.id === chosen) ?? list[0];
  return (
    <section className="admin-section" id="admin-cameras" data-testid="admin-section-cameras" aria-labelledby="admin-cameras-title">
      <h2 id="admin-cameras-title">Cameras</h2>
      <div className="field inline">
        <label htmlFor={selectId}>Site</label>
        <select id={selectId} value={site?.id ?? ""} onChange={(event) => setChosen(event.target.value)} disabled={!list.length}>
          {!list.length && <option value="">{sites.isPending ? "Loading…" : "No sites"}</option>}
          {list.map((candidate) => (
            <option key={candidate.id} value={candidate.id}>
              {candidate.name}
            </option>
          ))}
        </select>
      </div>
      {sites.isError && (
        <p className="error" role="alert">
          Sites: {sites.error.message}
        </p>
      )}
      {sites.isSuccess && !list.length && <p>Add a site first: every camera belongs to one.</p>}
      {created && <Created camera={created} onDone={() => setCreated(null)} />}
      {site && <SiteCameras key={site.id} site={site} onCreated={setCreated} />}
    </section>
  );
}
