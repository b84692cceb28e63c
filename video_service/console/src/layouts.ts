// A signed-in user's saved wall layouts (a site and a layout, by name), kept by the API with
// the user: the console stores nothing in the browser. An API-key session has none (401).
import { json, request } from "./api";

export const LAYOUTS_KEY = ["layouts"] as const;
export const MOST_LAYOUTS = 50;
export const LONGEST_LAYOUT_NAME = 60;

export interface SavedLayout {
  name: string;
  site_id: string;
  layout: number;
}

interface Layouts {
  layouts: SavedLayout[];
}

export async function getLayouts(signal?: AbortSignal): Promise<SavedLayout[]> {
  return (await request<Layouts>("/api/session/layouts", { signal })).layouts;
}

/** Replaces the whole list (the API keeps no other). */
export async function putLayouts(layouts: SavedLayout[]): Promise<SavedLayout[]> {
  return (await request<Layouts>("/api/session/layouts", json("PUT", { layouts }))).layouts;
}

/** `layouts` with `saved` in place of the one of its name, else added at the end. */
export function withLayout(layouts: SavedLayout[], saved: SavedLayout): SavedLayout[] {
  const at = layouts.findIndex((layout) => layout.name === saved.name);
  if (at < 0) return [...layouts, saved];
  return layouts.map((layout, index) => (index === at ? saved : layout));
}
