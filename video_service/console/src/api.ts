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

/** One thing the API refused: the request field it names (the last name in a 422's `loc`,
 * after "body" or "query"), or null for the request as a whole. */
export interface Problem {
  field: string | null;
  message: string;
}

/** A refusal by the API: its status and the `detail` it gave, as text for people; `problems`
 * keeps a 422's refusals apart, so that a form shows each next to its field. */
export class ApiError extends Error {
  readonly status: number;
  readonly problems: Problem[];

  constructor(status: number, message: string, problems: Problem[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.problems = problems.length ? problems : [{ field: null, message }];
  }
}

export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError && (status === undefined || error.status === status);
}

interface ValidationProblem {
  loc?: unknown[];
  msg?: string;
}

function problemOf(problem: ValidationProblem): Problem {
  const message = typeof problem.msg === "string" && problem.msg ? problem.msg : "invalid";
  // loc: ["body" | "query" | "path", name, index, name...]: the field is its last name.
  const names = Array.isArray(problem.loc) ? problem.loc.slice(1).filter((part) => typeof part === "string") : [];
  return { field: (names[names.length - 1] as string | undefined) ?? null, message };
}

/** The ApiError of a response that is not ok: `{"detail": "..."}`, or FastAPI's 422 list of
 * `{loc, msg}` (one line of text for people, and each problem with the field it names). */
async function refusal(response: Response): Promise<ApiError> {
  const fallback = `${response.status} ${response.statusText}`.trim();
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return new ApiError(response.status, fallback);
  }
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string" && detail) return new ApiError(response.status, detail);
  if (Array.isArray(detail) && detail.length) {
    const problems = (detail as ValidationProblem[]).map(problemOf);
    const line = problems.map((problem) => (problem.field ? `${problem.field}: ${problem.message}` : problem.message));
    return new ApiError(response.status, line.join("; "), problems);
  }
  return new ApiError(response.status, fallback);
}

let onSignedOut: () => void = () => {};

/** Called when a call other than the session's own hears 401: the session ended (expired,
 * signed out in another tab), so the console goes back to signing in. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/** A call to the API, its response once ok (a caller that streams the body: exports); an
 * ApiError when it refuses. */
export async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(path, {
    ...init,
    credentials: "same-origin",
    headers: { Accept: "application/json", ...init.headers },
  });
  if (response.status === 401 && !path.startsWith("/api/session")) onSignedOut();
  if (!response.ok) throw await refusal(response);
  return response;
}

/** A JSON call to the API. (Pages' own modules build on it, so that what only the admin
 * pages call stays out of the wall's first load.) */
export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await call(path, init);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const segment = encodeURIComponent;

/** A JSON body for request(). */
export function json(method: "POST" | "PUT" | "PATCH", body: unknown): RequestInit {
  return { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

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
