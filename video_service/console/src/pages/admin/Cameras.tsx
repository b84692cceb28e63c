// A site's cameras: added as push (the camera publishes to the edge: its publish URL and
// password are shown once) or pull (the edge dials the camera's rtsp:// URL, which the API
// checks); renamed, re-pointed, enabled or disabled, deleted.
import { useInfiniteQuery, useMutation } from "@tanstack/react-query";
import { useId, useState } from "react";
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
import { CreatedSecret, type SecretLine } from "../../components/CreatedSecret";
import { Field, FormWithAlert, problemsOf, type ControlProps } from "../../forms";
import { Link } from "../../router";
import { AdminTable, CAMERAS_KEY, EditingRow, ListStates, NameField, RowActions, SaveCancel, useInvalidate, useSaveChanges, useSites } from "./shared";

const CREATE_FIELDS = ["name", "mode", "source_url", "sub_source_url"] as const;
const EDIT_FIELDS = ["name", "source_url", "sub_source_url"] as const;
const SOURCE_HINT = "The camera's rtsp:// or rtsps:// URL, with its user and password.";
const SUB_SOURCE_HINT = "Optional: the camera's small second stream, for the wall.";
const CAMERA_COLUMNS = ["Name", "Mode", "State", "Publishes to / pulled from", "Actions"] as const;

/** A camera's change shows in the lists and on its own page. */
function useInvalidateCamera(cameraId: string): () => void {
  return useInvalidate(CAMERAS_KEY, ["camera", cameraId]);
}

interface UrlInputProps {
  control: ControlProps;
  value: string;
  onChange: (url: string) => void;
  required?: boolean;
  disabled?: boolean;
  placeholder?: string;
}

/**
 * A camera's stream URL: text, not type="url", so that the API's check (which knows rtsp://
 * and which addresses it refuses) is the one said at the field; no spelling or autofill, as
 * it carries the camera's credentials.
 */
function UrlInput({ control, value, onChange, ...rest }: UrlInputProps) {
  return (
    <input
      {...control}
      {...rest}
      type="text"
      inputMode="url"
      spellCheck={false}
      autoComplete="off"
      value={value}
      onChange={(event) => onChange(event.target.value)}
    />
  );
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
  const invalidate = useInvalidate(CAMERAS_KEY);
  const modeName = useId();
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
      invalidate();
      onCreated(camera);
    },
  });
  const submit = () => {
    const body: CameraCreate = { site_id: siteId, name: name.trim(), mode };
    if (mode === "pull") {
      body.source_url = sourceUrl.trim();
      if (subSourceUrl.trim()) body.sub_source_url = subSourceUrl.trim();
    }
    create.mutate(body);
  };
  const problems = problemsOf(create.error, CREATE_FIELDS);
  return (
    <FormWithAlert className="admin-form" label="Add a camera" messages={problems.top} onSubmit={submit}>
      <NameField value={name} onChange={setName} error={problems.fields.name} />
      <fieldset className="field" aria-describedby={problems.fields.mode ? `${modeName}-error` : undefined}>
        <legend>Mode</legend>
        <label className="choice">
          <input type="radio" name={modeName} value="push" checked={mode === "push"} onChange={() => setMode("push")} />{" "}
          Push (the camera publishes to the edge)
        </label>
        <label className="choice">
          <input type="radio" name={modeName} value="pull" checked={mode === "pull"} onChange={() => setMode("pull")} />{" "}
          Pull (the edge pulls from the camera)
        </label>
        {problems.fields.mode && (
          <p id={`${modeName}-error`} className="field-error error" role="alert">
            {problems.fields.mode}
          </p>
        )}
      </fieldset>
      {mode === "pull" && (
        <>
          <Field label="Source URL" error={problems.fields.source_url} hint={SOURCE_HINT}>
            {(control) => (
              <UrlInput control={control} required placeholder="rtsp://user:password@camera.example/stream1" value={sourceUrl} onChange={setSourceUrl} />
            )}
          </Field>
          <Field label="Sub-stream source URL" error={problems.fields.sub_source_url} hint={SUB_SOURCE_HINT}>
            {(control) => <UrlInput control={control} value={subSourceUrl} onChange={setSubSourceUrl} />}
          </Field>
        </>
      )}
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Adding…" : "Add camera"}
      </button>
    </FormWithAlert>
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
  const invalidate = useInvalidateCamera(camera.id);
  const [name, setName] = useState(camera.name);
  const [sourceUrl, setSourceUrl] = useState("");
  const [subSourceUrl, setSubSourceUrl] = useState("");
  const [dropSub, setDropSub] = useState(false);
  const { save, saveChanges } = useSaveChanges((changes: CameraUpdate) => updateCamera(camera.id, changes), invalidate, onDone);
  const submit = () => {
    const changes: CameraUpdate = {};
    if (name.trim() !== camera.name) changes.name = name.trim();
    if (camera.mode === "pull") {
      // The API shows sources without their credentials: blank keeps the one it has.
      if (sourceUrl.trim()) changes.source_url = sourceUrl.trim();
      if (dropSub) changes.sub_source_url = null;
      else if (subSourceUrl.trim()) changes.sub_source_url = subSourceUrl.trim();
    }
    saveChanges(changes);
  };
  const problems = problemsOf(save.error, EDIT_FIELDS);
  return (
    <FormWithAlert className="admin-form inline-form" label={`Edit camera ${camera.name}`} messages={problems.top} onSubmit={submit}>
      <NameField value={name} onChange={setName} error={problems.fields.name} />
      {camera.mode === "pull" && (
        <>
          <Field label="New source URL" error={problems.fields.source_url} hint="Blank: keep the current one.">
            {(control) => <UrlInput control={control} value={sourceUrl} onChange={setSourceUrl} />}
          </Field>
          <Field label="New sub-stream source URL" error={problems.fields.sub_source_url} hint="Blank: keep the current one.">
            {(control) => <UrlInput control={control} disabled={dropSub} value={subSourceUrl} onChange={setSubSourceUrl} />}
          </Field>
          {camera.sub_source_url && (
            <label className="choice">
              <input type="checkbox" checked={dropSub} onChange={(event) => setDropSub(event.target.checked)} /> Remove the
              sub-stream
            </label>
          )}
        </>
      )}
      <SaveCancel pending={save.isPending} onCancel={onDone} />
    </FormWithAlert>
  );
}

function CameraRow({ camera }: { camera: Camera }) {
  const invalidate = useInvalidateCamera(camera.id);
  const [editing, setEditing] = useState(false);
  const toggle = useMutation({
    mutationFn: () => (camera.enabled ? disableCamera(camera.id) : updateCamera(camera.id, { enabled: true })),
    onSuccess: invalidate,
  });
  const remove = useMutation({ mutationFn: () => deleteCamera(camera.id), onSuccess: invalidate });
  if (editing) {
    return (
      <EditingRow columns={CAMERA_COLUMNS.length} rowData={{ "data-camera-id": camera.id }}>
        <EditCameraForm camera={camera} onDone={() => setEditing(false)} />
      </EditingRow>
    );
  }
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
      <RowActions
        what={`camera ${camera.name}`}
        onEdit={() => setEditing(true)}
        toggle={{ enabled: camera.enabled, mutation: toggle }}
        remove={{ label: "Delete", question: `Delete camera ${camera.name} and forget it?`, mutation: remove }}
      />
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
      <ListStates query={cameras} count={list.length} what="cameras" empty="No cameras at this site yet." />
      {list.length > 0 && (
        <AdminTable caption={`Cameras of ${site.name}`} columns={CAMERA_COLUMNS}>
          {list.map((camera) => (
            <CameraRow key={camera.id} camera={camera} />
          ))}
        </AdminTable>
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
      {/* The site select above says "Loading…" already. */}
      <ListStates query={sites} count={list.length} what="sites" empty="Add a site first: every camera belongs to one." announceLoading={false} />
      {created && <Created camera={created} onDone={() => setCreated(null)} />}
      {site && <SiteCameras key={site.id} site={site} onCreated={setCreated} />}
    </section>
  );
}
