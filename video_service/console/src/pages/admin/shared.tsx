// What the admin sections share: the sites (to choose from and to name), a sites
// multi-select, and the query keys their changes invalidate.
import { useQuery } from "@tanstack/react-query";
import { listSites, type Site } from "../../api";
import type { ControlProps } from "../../forms";

// The wall and the events page read ["sites"] and ["cameras", ...] too: a change here shows
// there at once.
export const SITES_KEY = ["sites"] as const;
export const CAMERAS_KEY = ["cameras"] as const;
export const USERS_KEY = ["users"] as const;
export const KEYS_KEY = ["keys"] as const;

export function useSites() {
  return useQuery({
    queryKey: SITES_KEY,
    queryFn: ({ signal }) => listSites(signal),
    staleTime: 10000,
  });
}

/** Site names for ids (an id the list lacks is shown as itself). */
export function sitesText(siteIds: string[], sites: Site[] | undefined): string {
  if (!siteIds.length) return "none";
  const names = new Map((sites ?? []).map((site) => [site.id, site.name]));
  return siteIds.map((id) => names.get(id) ?? id).join(", ");
}

export const MULTI_SELECT_HINT = "Ctrl-click (⌘-click on a Mac), or Shift with the arrow keys, to choose more than one.";

interface SitesSelectProps {
  control: ControlProps;
  sites: Site[];
  value: string[];
  onChange: (siteIds: string[]) => void;
}

/** Several sites at once; a chosen id the list lacks stays an option (never dropped unseen). */
export function SitesSelect({ control, sites, value, onChange }: SitesSelectProps) {
  const unknown = value.filter((id) => !sites.some((site) => site.id === id));
  return (
    <select
      {...control}
      multiple
      size={Math.min(6, Math.max(3, sites.length + unknown.length))}
      value={value}
      onChange={(event) => onChange(Array.from(event.target.selectedOptions, (option) => option.value))}
    >
      {sites.map((site) => (
        <option key={site.id} value={site.id}>
          {site.name}
        </option>
      ))}
      {unknown.map((id) => (
        <option key={id} value={id}>
          {id}
        </option>
      ))}
    </select>
  );
}

/** A number input's text as a whole number, or null when empty or not one. */
export function wholeNumber(text: string): number | null {
  if (!text.trim()) return null;
  const number = Number(text);
  return Number.isInteger(number) ? number : null;
}
