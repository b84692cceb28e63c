// What the admin and operations pages call: sites, cameras, users and keys changed, the live
// edges, the worker pools and the CDNs. Apart from api.ts, so that the wall's first load
// carries none of it. Nothing here logs or stores what the API returns.
import { json, query, request, segment, type Camera, type Page, type Role, type Site } from "./api";

export const PAGE_LIMIT = 100;

// Sites

export function createSite(body: { name: string; tier: number }): Promise<Site> {
  return request<Site>("/api/sites", json("POST", body));
}

export function updateSite(siteId: string, changes: { name?: string; tier?: number }): Promise<Site> {
  return request<Site>(`/api/sites/${segment(siteId)}`, json("PATCH", changes));
}

/** 409 while the site has cameras (its detail says so). */
export function deleteSite(siteId: string): Promise<void> {
  return request<void>(`/api/sites/${segment(siteId)}`, { method: "DELETE" });
}

// Cameras

export type CameraMode = Camera["mode"];

export interface CameraCreate {
  site_id: string;
  name: string;
  mode: CameraMode;
  source_url?: string;
  sub_source_url?: string;
}

/** Returned once, at creation: a push camera's publish password is never shown again. */
export interface CameraCreated extends Camera {
  rtsp_password?: string | null;
}

export interface CameraUpdate {
  name?: string;
  enabled?: boolean;
  source_url?: string;
  /** null: the camera has no sub-stream any more */
  sub_source_url?: string | null;
}

export function listSiteCameras(siteId: string, after: string | null, signal?: AbortSignal): Promise<Page<Camera>> {
  return request<Page<Camera>>(`/api/cameras${query({ site_id: siteId, limit: PAGE_LIMIT, after })}`, { signal });
}

export function createCamera(body: CameraCreate): Promise<CameraCreated> {
  return request<CameraCreated>("/api/cameras", json("POST", body));
}

export function updateCamera(cameraId: string, changes: CameraUpdate): Promise<Camera> {
  return request<Camera>(`/api/cameras/${segment(cameraId)}`, json("PATCH", changes));
}

export function disableCamera(cameraId: string): Promise<Camera> {
  return request<Camera>(`/api/cameras/${segment(cameraId)}/disable`, { method: "POST" });
}

export function deleteCamera(cameraId: string): Promise<void> {
  return request<void>(`/api/cameras/${segment(cameraId)}`, { method: "DELETE" });
}

// Users

export interface User {
  id: string;
  username: string;
  role: Role;
  site_ids: string[];
  enabled: boolean;
  created_at: string;
}

export interface UserCreate {
  username: string;
  password: string;
  role: Role;
  site_ids: string[];
}

export interface UserUpdate {
  enabled?: boolean;
  role?: Role;
  site_ids?: string[];
  password?: string;
}

export function listUsers(signal?: AbortSignal): Promise<{ data: User[] }> {
  return request<{ data: User[] }>("/api/users", { signal });
}

export function createUser(body: UserCreate): Promise<User> {
  return request<User>("/api/users", json("POST", body));
}

export function updateUser(userId: string, changes: UserUpdate): Promise<User> {
  return request<User>(`/api/users/${segment(userId)}`, json("PATCH", changes));
}

export function deleteUser(userId: string): Promise<void> {
  return request<void>(`/api/users/${segment(userId)}`, { method: "DELETE" });
}

// API keys

export type KeyScope = "admin" | "viewer";

export interface ApiKey {
  id: string;
  name: string;
  scope: KeyScope;
  site_ids: string[];
  created_at: string;
  expires_at: string | null;
}

export interface KeyCreate {
  name: string;
  scope: KeyScope;
  site_ids: string[];
  expires_in_days?: number;
}

/** Returned once, at creation: only the key's hash is kept. */
export interface KeyCreated extends ApiKey {
  key: string;
}

export function listKeys(signal?: AbortSignal): Promise<{ data: ApiKey[] }> {
  return request<{ data: ApiKey[] }>("/api/keys", { signal });
}

export function createKey(body: KeyCreate): Promise<KeyCreated> {
  return request<KeyCreated>("/api/keys", json("POST", body));
}

export function revokeKey(keyId: string): Promise<void> {
  return request<void>(`/api/keys/${segment(keyId)}`, { method: "DELETE" });
}

// Operations

export interface OpsEdge {
  name: string;
  live_view_url: string | null;
  /** the cameras whose main stream it owns */
  cameras: string[];
  /** the cameras whose sub-stream it relays */
  sub_streams: string[];
}

export interface OpsOverview {
  edges: OpsEdge[];
  grafana_url: string | null;
}

export interface CdnHealth {
  name: string;
  weight: number;
  regions: string[];
  probed: boolean;
  ejected: boolean;
  /** seconds since the epoch (the API's clock), while ejected */
  ejected_until: number | string | null;
}

export function getOverview(signal?: AbortSignal): Promise<OpsOverview> {
  return request<OpsOverview>("/api/ops/overview", { signal });
}

/** The pools view, shown as it comes (its shape is the workers' to change). */
export function getPools(signal?: AbortSignal): Promise<Record<string, unknown>> {
  return request<Record<string, unknown>>("/api/ops/pools", { signal });
}

export function getCdnHealth(signal?: AbortSignal): Promise<CdnHealth[]> {
  return request<CdnHealth[]>("/api/cdn", { signal });
}
