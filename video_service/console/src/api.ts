// The console's calls to the API (same origin, signed in by an HttpOnly session cookie) and
// the shapes of what it answers. Nothing here logs or stores what the API returns.

export type Role = "admin" | "operator";

export interface Session {
  username: string;
  role: Role;
  site_ids: string[];
}

export interface Site {
  id: string;
  name: string;
  tier: number;
  created_at: string;
}

export interface SubStream {
  codec: string;
  width: number;
  height: number;
  edge: string;
}

export interface Camera {
  id: string;
  site_id: string;
  name: string;
  mode: "push" | "pull";
  enabled: boolean;
  publish_url: string | null;
  sub_publish_url: string | null;
  rtsp_username: string | null;
  source_url: string | null;
  sub_source_url: string | null;
  created_at: string;
  sub_stream: SubStream | null;
}

export interface Playback {
  url: string;
  webrtc: string | null;
  webrtc_sub: string | null;
  session_id: string | null;
  cdn: string;
  expires_at: string | number | null;
}

export interface VideoEvent {
  id: number;
  at: string;
  type: string;
  camera_id: string | null;
  site_id: string | null;
  detail: Record<string, unknown>;
}

export interface Page<T> {
  data: T[];
  count?: number;
  next: string | null;
}

/** A refusal by the API: its status and the `detail` it gave, as text for people. */
export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError && (status === undefined || error.status === status);
}

interface ValidationProblem {
  loc?: unknown[];
  msg?: string;
}

/** `{"detail": "..."}`, or FastAPI's 422 list of `{loc, msg}`, as one line of text. */
async function detailOf(response: Response): Promise<string> {
  const fallback = `${response.status} ${response.statusText}`.trim();
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return fallback;
  }
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail)) {
    const lines = (detail as ValidationProblem[]).map((problem) => {
      const where = Array.isArray(problem.loc) ? problem.loc.filter((part) => part !== "body").join(".") : "";
      return where ? `${where}: ${problem.msg ?? "invalid"}` : (problem.msg ?? "invalid");
    });
    if (lines.length) return lines.join("; ");
  }
  return fallback;
}

let onSignedOut: () => void = () => {};

/** Called when a call other than the session's own hears 401: the session ended (expired,
 * signed out in another tab), so the console goes back to signing in. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    credentials: "same-origin",
    headers: { Accept: "application/json", ...init.headers },
  });
  if (response.status === 401 && !path.startsWith("/api/session")) onSignedOut();
  if (!response.ok) throw new ApiError(response.status, await detailOf(response));
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

const segment = encodeURIComponent;

/** Who is signed in, or null when nobody is (401). */
export async function getSession(signal?: AbortSignal): Promise<Session | null> {
  try {
    return await request<Session>("/api/session", { signal });
  } catch (error) {
    if (isApiError(error, 401)) return null;
    throw error;
  }
}

export function signIn(username: string, password: string): Promise<Session> {
  return request<Session>("/api/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
}

export function signOut(): Promise<void> {
  return request<void>("/api/session", { method: "DELETE" });
}

export function listSites(signal?: AbortSignal): Promise<Page<Site>> {
  return request<Page<Site>>(`/api/sites${query({ limit: 100 })}`, { signal });
}

export function listCameras(
  where: { siteId: string; limit: number; after: string | null },
  signal?: AbortSignal,
): Promise<Page<Camera>> {
  const params = query({ site_id: where.siteId, limit: where.limit, after: where.after });
  return request<Page<Camera>>(`/api/cameras${params}`, { signal });
}

export function getCamera(cameraId: string, signal?: AbortSignal): Promise<Camera> {
  return request<Camera>(`/api/cameras/${segment(cameraId)}`, { signal });
}

/**
 * Where to watch a camera live. `webrtcOnly`: the WHEP URLs without opening a viewer session
 * (the wall's tiles); otherwise a viewer session is opened too, which the HLS URL needs.
 * 409: the camera is offline or disabled.
 */
export function getPlayback(
  cameraId: string,
  options: { webrtcOnly?: boolean; signal?: AbortSignal } = {},
): Promise<Playback> {
  const params = query({ webrtc_only: options.webrtcOnly ? "true" : null });
  return request<Playback>(`/api/cameras/${segment(cameraId)}/playback${params}`, {
    signal: options.signal,
  });
}

/** Ends a viewer session early (it would otherwise count until its time to live runs out). */
export function endViewerSession(cameraId: string, sessionId: string): void {
  const path = `/api/cameras/${segment(cameraId)}/viewers/${segment(sessionId)}`;
  request<void>(path, { method: "DELETE", keepalive: true }).catch(() => {
    // Best effort: an expired session is already gone.
  });
}

export interface EventFilters {
  siteId?: string | null;
  cameraId?: string | null;
  type?: string | null;
}

export function eventFilterParams(filters: EventFilters): Record<string, string | null | undefined> {
  return { site_id: filters.siteId, camera_id: filters.cameraId, type: filters.type };
}

export function listEvents(
  filters: EventFilters & { limit: number; after?: string | null },
  signal?: AbortSignal,
): Promise<Page<VideoEvent>> {
  const params = query({ ...eventFilterParams(filters), limit: filters.limit, after: filters.after });
  return request<Page<VideoEvent>>(`/api/events${params}`, { signal });
}

export function eventStreamUrl(filters: EventFilters, named = true): string {
  const params = eventFilterParams(filters);
  return `/api/events/stream${query(named ? params : { ...params, named: "false" })}`;
}

export function stillUrl(cameraId: string, tick: number): string {
  return `/api/cameras/${segment(cameraId)}/still.jpg?t=${tick}`;
}

export function eventStillUrl(eventId: number): string {
  return `/api/events/${eventId}/still.jpg`;
}
